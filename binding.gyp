{
  "targets": [
    {
      "target_name": "socksgate_native",
      "sources": [
        "src/native/addon.c",
        "src/native/args.c",
        "src/native/client-read.c",
        "src/native/deadlines.c",
        "src/native/errors.c",
        "src/native/fd-watch.c",
        "src/native/fds.c",
        "src/native/handle-box.c",
        "src/native/js-callback.c",
        "src/native/pipe-pool.c",
        "src/native/slot-table.c",
        "src/native/sockets.c",
        "src/native/shared-buffer.c",
        "src/native/splice.c",
        "src/native/tcp-accept.c",
        "src/native/tcp-dial.c",
        "src/native/tcp-socket.c",
        "src/native/udp-fast.c",
        "src/native/udp-fast-relay.c",
        "src/native/udp-listen.c",
        "src/native/udp-send.c",
        "src/native/udp-socket.c",
        "src/native/unix-socket.c",
        "src/native/memory.cc"
      ],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O3"],
      "cflags_c!": ["-O3"],
      "cflags_cc!": ["-O3"]
    }
  ]
}
