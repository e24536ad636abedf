package wasmhost

// MemoryBytes is the size of the VM's linear memory in bytes (wazero's
// Memory().Size()): what the guest has grown to, for benchmarks and soak
// tests. A wasm memory never shrinks, so growth here is the guest's peak.
func (v *VM) MemoryBytes() uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mod.Memory().Size()
}
