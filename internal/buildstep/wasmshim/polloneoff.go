package wasmshim

// PollOneoff is a body for wasi_snapshot_preview1.poll_oneoff(in, out,
// nsubscriptions, nevents) -> errno that writes 0 to *nevents and returns 0
// (success). That is what Envoy answers from 1.39 on (proxy-wasm-cpp-host
// PR #533); older Envoy answers 52 (ENOSYS), and Go's wasip1 runtime aborts
// on any error there ("poll_oneoff failed"). Reporting no event is safe
// while no file descriptor is registered with the runtime's netpoller (none
// is under proxy-wasm: the plugin does no file or socket I/O): the runtime
// then polls only to let timers run (when a collection restarts the world)
// or to wait for one, and such a wait spins instead of sleeping, exactly as
// on Envoy 1.39 and later. A proxy-wasm callback must never block its
// worker anyway.
var PollOneoff = []byte{
	0x00,       // no locals
	0x20, 0x03, // local.get 3 (nevents)
	0x41, 0x00, // i32.const 0
	0x36, 0x02, 0x00, // i32.store align=4 offset=0
	0x41, 0x00, // i32.const 0 (success)
	0x0b, // end
}

// ProvidePollOneoff is what `make build` does to every module the Go
// toolchain builds: Provide with PollOneoff for wasi_snapshot_preview1.poll_oneoff.
func ProvidePollOneoff(mod []byte) ([]byte, error) {
	return Provide(mod, "wasi_snapshot_preview1", "poll_oneoff", PollOneoff)
}
