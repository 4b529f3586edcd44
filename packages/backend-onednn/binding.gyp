{
  "targets": [
    {
      "target_name": "onednn",
      "sources": [
        "native/addon.cc",
        "native/engine.cc",
        "native/conv.cc",
        "native/matmul.cc",
        "native/batchnorm.cc",
        "native/pooling.cc",
        "native/elementwise.cc",
        "native/reduction.cc",
        "native/copy.cc",
        "native/optim.cc",
        "native/lm_step.cc",
        "native/memory.cc",
        "native/layout.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
