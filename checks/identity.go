package checks

// NodeMeta is the identity Envoy / Istio put in the proxy's node metadata.
type NodeMeta struct {
	WorkloadName string // xds.node.metadata.WORKLOAD_NAME
	App          string // xds.node.metadata.LABELS.app
	Version      string // xds.node.metadata.LABELS.version
	Namespace    string // xds.node.metadata.NAMESPACE
	ClusterID    string // xds.node.metadata.CLUSTER_ID
}

// WithNode fills what the configuration left blank from node metadata; a
// configured field always wins.
func (s Service) WithNode(n NodeMeta) Service {
	if s.Name == "" {
		s.Name = n.App
	}
	if s.Name == "" {
		s.Name = n.WorkloadName
	}
	if s.Version == "" {
		s.Version = n.Version
	}
	s.Namespace = n.Namespace
	s.Cluster = n.ClusterID
	return s
}

// fields lists the known identity fields in the order /up shows them.
func (s Service) fields() [][2]string {
	all := [][2]string{
		{"service_name", s.Name}, {"version", s.Version}, {"commit", s.Commit},
		{"build_date", s.BuildDate}, {"region", s.Region}, {"env", s.Env},
		{"namespace", s.Namespace}, {"cluster", s.Cluster},
	}
	out := all[:0]
	for _, f := range all {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}
