{
  "targets": [
    {
      "target_name": "lmjpeg",
      "sources": ["native/addon.cc", "native/jpeg_region.cc", "native/resample.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "libraries": ["-ljpeg"]
    }
  ]
}
