;; floor-continue, runtime-free: a benchmark floor, not a plugin anyone
;; deploys. It is the least a proxy-wasm HTTP filter can be: it lets every
;; request through (Continue from proxy_on_request_headers) and reads
;; nothing. Written by hand in WebAssembly text, with no language runtime
;; and no SDK, so that beside e2e/testdata/floor-continue (Go) it shows what
;; Go's runtime and the Go SDK cost on their own. Unlike the Go floor it does
;; not read ":path". Assembled with wabt (make build/floor-continue-wat.wasm):
;;
;;	wat2wasm -o build/floor-continue-wat.wasm floors/floor-continue.wat
;;
;; Proxy-wasm ABI 0.2.1. The host calls only the callbacks a module
;; exports: those left out (proxy_on_log, proxy_on_delete, the response
;; callbacks...) cost no call into the VM.
(module
  ;; One page: the module keeps nothing in memory, but the host needs a
  ;; memory export to exchange data.
  (memory (export "memory") 1)

  ;; The ABI version the host reads from the export's name.
  (func (export "proxy_abi_version_0_2_1"))

  ;; The host's malloc: it calls it to hand the module data (a header value,
  ;; the plugin configuration) that the module asks for. This module asks
  ;; for none, but the host refuses a module without it. Each call gets
  ;; fresh pages of its own (never freed); 0 if memory cannot grow.
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $page i32)
    (local.set $page
      (memory.grow (i32.shr_u (i32.add (local.get $size) (i32.const 0xffff)) (i32.const 16))))
    (if (result i32) (i32.eq (local.get $page) (i32.const -1))
      (then (i32.const 0))
      (else (i32.shl (local.get $page) (i32.const 16)))))

  ;; A new root (parent 0) or stream context. There is no state to set up;
  ;; it is kept because any filter with per-request state needs it, as
  ;; every SDK does.
  (func (export "proxy_on_context_create") (param $context i32) (param $parent i32))

  ;; VM start and plugin configuration: 1 accepts them.
  (func (export "proxy_on_vm_start") (param $root i32) (param $vm_config_size i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $plugin_config_size i32) (result i32)
    (i32.const 1))

  ;; Every request: 0, Continue.
  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (i32.const 0))

  ;; A context is done: 1, nothing left to finish.
  (func (export "proxy_on_done") (param $context i32) (result i32)
    (i32.const 1)))
