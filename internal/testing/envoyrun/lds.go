package envoyrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// LDS serves the listener the way a control plane pushes it: from a file
// that Envoy watches (dynamic_resources.lds_config.path_config_source),
// replaced atomically by a rename, which is what Envoy's file watcher
// expects of an update.
type LDS struct {
	Dir     string // holds the listener file; nothing else may be written there
	version int
}

func (l *LDS) file() string { return filepath.Join(l.Dir, "listeners.json") }

// Bootstrap is o's bootstrap with its listener taken out of the static
// resources and served from the watched file, which it writes first.
// o.ListenerPort should be set, so that later pushes keep the socket.
func (l *LDS) Bootstrap(o Bootstrap) ([]byte, error) {
	b, err := o.build()
	if err != nil {
		return nil, err
	}
	if err := l.write(o); err != nil {
		return nil, err
	}
	b.StaticResources.Listeners = nil
	if b.GetNode().GetId() == "" || b.GetNode().GetCluster() == "" { // Envoy requires both for any xDS
		if b.Node == nil {
			b.Node = &corev3.Node{}
		}
		b.Node.Id, b.Node.Cluster = "meshprobe-lds", "meshprobe-lds"
	}
	b.DynamicResources = &bootstrapv3.Bootstrap_DynamicResources{LdsConfig: &corev3.ConfigSource{
		ResourceApiVersion: corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_PathConfigSource{PathConfigSource: &corev3.PathConfigSource{
			Path: l.file(), WatchedDirectory: &corev3.WatchedDirectory{Path: l.Dir}}},
	}}
	if err := b.ValidateAll(); err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

// Push replaces the served listener with o's: Envoy sees one complete
// discovery response with a new version, as from a control plane.
func (l *LDS) Push(o Bootstrap) error { return l.write(o) }

func (l *LDS) write(o Bootstrap) error {
	b, err := o.build()
	if err != nil {
		return err
	}
	ls := b.GetStaticResources().GetListeners()
	l.version++
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: strconv.Itoa(l.version),
		TypeUrl: "type.googleapis.com/envoy.config.listener.v3.Listener"}
	for _, x := range ls {
		a, err := anypb.New(x)
		if err != nil {
			return err
		}
		resp.Resources = append(resp.Resources, a)
	}
	js, err := protojson.Marshal(resp)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(l.Dir, ".listeners-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(js); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), l.file()); err != nil {
		return fmt.Errorf("LDS push: %w", err)
	}
	return nil
}
