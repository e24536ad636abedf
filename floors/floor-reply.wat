;; floor-reply, runtime-free: a benchmark floor, not a plugin anyone
;; deploys. It answers every request inside the proxy with the reply of
;; e2e/testdata/floor-reply (Go): 200, content-type: application/json,
;; cache-control: no-store and the body {"status":"up"}, through one
;; proxy_send_local_response call, and reads nothing. Written by hand in
;; WebAssembly text, with no language runtime and no SDK, so that beside the
;; Go floor it shows what Go's runtime and the Go SDK cost on their own.
;; Unlike the Go floor it does not read ":path". Assembled with wabt
;; (make build/floor-reply-wat.wasm):
;;
;;	wat2wasm -o build/floor-reply-wat.wasm floors/floor-reply.wat
;;
;; Proxy-wasm ABI 0.2.1. The host calls only the callbacks a module
;; exports: those left out (proxy_on_log, proxy_on_delete, the response
;; callbacks...) cost no call into the VM.
(module
  ;; proxy_send_local_response(status, details, details_size, body,
  ;; body_size, headers, headers_size, grpc_status) -> WasmResult (0: Ok).
  (import "env" "proxy_send_local_response"
    (func $send_local_response
      (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; The body, 15 bytes at 16.
  (data (i32.const 16) "{\"status\":\"up\"}")
  ;; The headers at 32, 73 bytes, as the host reads a header map: the number
  ;; of pairs, then each name's and value's length (u32, little endian),
  ;; then each name and value followed by a NUL.
  (data (i32.const 32)
    "\02\00\00\00"                        ;; 2 pairs
    "\0c\00\00\00" "\10\00\00\00"         ;; 12, 16
    "\0d\00\00\00" "\08\00\00\00"         ;; 13, 8
    "content-type\00" "application/json\00"
    "cache-control\00" "no-store\00")

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

  ;; Every request: the reply (no details, gRPC status -1: none), then 1,
  ;; Pause: the request goes no further. A host error is not reported, as
  ;; nothing here could log it without more imports; the e2e test sees it.
  (func (export "proxy_on_request_headers")
    (param $context i32) (param $headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $send_local_response
      (i32.const 200)
      (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 15)
      (i32.const 32) (i32.const 73)
      (i32.const -1)))
    (i32.const 1))

  ;; A context is done: 1, nothing left to finish.
  (func (export "proxy_on_done") (param $context i32) (result i32)
    (i32.const 1)))
