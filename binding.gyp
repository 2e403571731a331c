{
  "targets": [
    {
      "target_name": "socksgate_native",
      "sources": ["src/native/addon.c", "src/native/splice.c", "src/native/tcp-accept.c", "src/native/tcp-dial.c", "src/native/memory.cc"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O3"],
      "cflags_c!": ["-O3"],
      "cflags_cc!": ["-O3"]
    }
  ]
}
