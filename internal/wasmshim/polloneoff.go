package wasmshim

// PollOneoff is a body for wasi_snapshot_preview1.poll_oneoff(in, out,
// nsubscriptions, nevents) -> errno that writes 0 to *nevents and returns 0
// (success). That is what Envoy answers from 1.39 on (proxy-wasm-cpp-host
// PR #533); older Envoy answers 52 (ENOSYS), and Go's wasip1 runtime aborts
// on any error there ("poll_oneoff failed"). The runtime polls with a clock
// subscription only, to let a timer fire (when a collection restarts the
// world) or to sleep; reporting no event is safe for both, and a proxy-wasm
// callback must never block its worker anyway.
var PollOneoff = []byte{
	0x00,       // no locals
	0x20, 0x03, // local.get 3 (nevents)
	0x41, 0x00, // i32.const 0
	0x36, 0x02, 0x00, // i32.store align=4 offset=0
	0x41, 0x00, // i32.const 0 (success)
	0x0b, // end
}
