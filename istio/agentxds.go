package istio

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"istio.io/istio/pkg/util/sets"
	"istio.io/istio/pkg/wasm"

	"github.com/meshprobe/meshprobe/internal/buildstep/oci"
)

// Registry serves the image `make oci` builds of code (internal/buildstep/oci.Image)
// from an in-process OCI registry on loopback, as the cluster's registry
// would, and returns the WasmPlugin url that names it.
func Registry(code []byte, repo, tag string) (url string, stop func(), err error) {
	img, err := oci.Image(code)
	if err != nil {
		return "", nil, err
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err == nil {
		err = remote.Write(ref, img)
	}
	if err != nil {
		srv.Close()
		return "", nil, err
	}
	return "oci://" + ref.String(), srv.Close, nil
}

// AgentXDS stands where istio-agent's xDS proxy stands: Envoy connects to
// it on sock (./etc/istio/proxy/XDS) and it forwards delta ADS to and from
// istiod (dial). Like the agent, it hands every ECDS response to Istio's
// pkg/wasm (MaybeConvertWasmExtensionConfig), which pulls a WasmPlugin's
// remote module into the local cache dir and points the filter at the
// file; a conversion error becomes a NACK to istiod, as the agent sends.
type AgentXDS struct {
	discovery.UnimplementedAggregatedDiscoveryServiceServer
	upstream *grpc.ClientConn
	cache    *wasm.LocalFileCache
	srv      *grpc.Server
}

// StartAgentXDS serves sock, forwarding to istiod at upstream (a unix
// socket), with the module cache in cacheDir. Registries on plain HTTP are
// allowed, as the agent's WASM_INSECURE_REGISTRIES allows them.
func StartAgentXDS(sock, upstream, cacheDir string) (*AgentXDS, error) {
	conn, err := grpc.NewClient("unix://"+upstream, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Dir(sock), cacheDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, 0o777); err != nil { // Envoy runs as the proxy user
		return nil, err
	}
	a := &AgentXDS{upstream: conn, srv: grpc.NewServer(),
		cache: wasm.NewLocalFileCache(cacheDir, wasm.Options{InsecureRegistries: sets.New("*")})}
	discovery.RegisterAggregatedDiscoveryServiceServer(a.srv, a)
	go a.srv.Serve(ln)
	return a, nil
}

// Stop closes Envoy's streams, the connection to istiod and the cache.
func (a *AgentXDS) Stop() {
	a.srv.Stop()
	a.upstream.Close()
	a.cache.Cleanup()
}

const ecdsType = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"

// DeltaAggregatedResources relays one Envoy stream to istiod.
func (a *AgentXDS) DeltaAggregatedResources(down discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	ctx, cancel := context.WithCancel(down.Context())
	defer cancel()
	up, err := discovery.NewAggregatedDiscoveryServiceClient(a.upstream).DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	go func() { // Envoy's requests, as they are
		for {
			req, err := down.Recv()
			if err == nil {
				err = up.Send(req)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() { // istiod's responses, ECDS converted
		for {
			resp, err := up.Recv()
			if err == nil && resp.GetTypeUrl() == ecdsType {
				if cerr := a.convert(resp); cerr != nil {
					err = up.Send(&discovery.DeltaDiscoveryRequest{TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce(),
						ErrorDetail: &rpcstatus.Status{Code: int32(codes.Internal), Message: cerr.Error()}})
					if err == nil {
						continue // NACKed upstream; Envoy keeps what it has
					}
				}
			}
			if err == nil {
				err = down.Send(resp)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	if err := <-errs; !errors.Is(err, io.EOF) && ctx.Err() == nil {
		return err
	}
	return nil
}

// convert rewrites resp's extension configs with Istio's conversion.
func (a *AgentXDS) convert(resp *discovery.DeltaDiscoveryResponse) error {
	rs := make([]*anypb.Any, len(resp.GetResources()))
	for i, r := range resp.GetResources() {
		rs[i] = r.GetResource()
	}
	if err := wasm.MaybeConvertWasmExtensionConfig(rs, a.cache); err != nil {
		return err
	}
	for i, r := range resp.GetResources() {
		r.Resource = rs[i]
	}
	return nil
}
