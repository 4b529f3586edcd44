"""PyTorch reference of the LM-ResNet paper's CIFAR networks (Lu et al. 2018, "Beyond Finite Layer Neural
Networks", Section 2.2 and Table 2), written from the paper and the authors' description, in float64.

  resnet:  He et al. (2015) post-activation ResNet: conv3x3-BN-ReLU stem; blocks conv-BN-ReLU-conv-BN, ReLU
           after the sum; option A shortcut (every 2nd pixel, new channels zero-padded, half before, half after).
  preact:  pre-activation ResNet: conv3x3 stem; blocks BN-ReLU-conv-BN-ReLU-conv; where the shape changes the
           shortcut is BN-ReLU-conv1x1/2; final BN-ReLU.
  lm:      the preact network stepped by the LM scheme, u_{n+1} = (1 - k_n) u_n + k_n u_{n-1} + f(u_n): the
           first step and the transitions are forward Euler steps, a transition's shortcut output is the
           u_{n-1} of the next step, and after an LM step u_{n-1} is the previous u_n.

All: three stages of widths 16/32/64 with n = (depth - 2) / 6 blocks, stride 2 at the first block of stages
2 and 3, global average pooling, a linear classifier. The parameters are a dict keyed by the weight names of
our saved models (model.json), so a saved @lm model loads into it one to one; convolution kernels are stored
as [kh, kw, C_in, C_out] there and [C_out, C_in, kh, kw] here.
"""
import json
import os

import torch
import torch.nn.functional as F

EPS = 1e-5  # batch norm epsilon (PyTorch's default)


def read_saved_model(model_dir, dtype=torch.float64):
    """Weights of a saved model folder (model.json + weights-*.bin) as `dtype` tensors in PyTorch layout."""
    with open(os.path.join(model_dir, "model.json")) as f:
        spec = json.load(f)
    weights = {}
    for group in spec["weightsManifest"]:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w["dtype"] != "float32":
                raise ValueError(f"{model_dir}: weight {w['name']} has dtype {w['dtype']}, expected float32")
            count = 1
            for d in w["shape"]:
                count *= d
            t = torch.frombuffer(bytearray(blob[offset:offset + 4 * count]), dtype=torch.float32).reshape(w["shape"])
            offset += 4 * count
            weights[w["name"]] = to_torch_layout(w["name"], t.to(dtype))
    return weights


def to_torch_layout(name, t, inverse=False):
    """Our kernels [kh, kw, C_in, C_out] / [C_in, C_out] to PyTorch's [C_out, C_in, kh, kw] / [C_out, C_in] (or back)."""
    if name.endswith("/kernel") and t.dim() == 4:
        return t.permute(*((2, 3, 1, 0) if inverse else (3, 2, 0, 1))).contiguous()
    if name.endswith("/kernel") and t.dim() == 2:
        return t.t().contiguous()
    return t


def from_torch_layout(name, t):
    return to_torch_layout(name, t, inverse=True)


class Network:
    """Forward pass of one of the paper's CIFAR networks on a dict of named parameters and BN statistics."""

    def __init__(self, family, depth, weights, padding="symmetric"):
        if family not in ("resnet", "preact", "lm"):
            raise ValueError(f"unknown family {family!r}: resnet, preact or lm")
        if (depth - 2) % 6:
            raise ValueError(f"depth {depth} is not 6n + 2")
        self.family, self.n, self.padding = family, (depth - 2) // 6, padding
        self.params = {k: v.clone().requires_grad_(True) for k, v in weights.items() if not k.endswith(("moving_mean", "moving_variance"))}
        self.stats = {k: v for k, v in weights.items() if k.endswith(("moving_mean", "moving_variance"))}
        self.used = set()

    def p(self, name):
        self.used.add(name)
        return self.params[name]

    def conv(self, x, name, stride=1):
        w = self.p(f"{name}/kernel")
        k = w.shape[-1]
        if stride > 1 and self.padding == "tf-same":
            # TensorFlow 'same': total padding k - stride for an even input, bottom/right taking the larger half
            total = max(k - stride, 0)
            x = F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
            return F.conv2d(x, w, stride=stride)
        return F.conv2d(x, w, stride=stride, padding=k // 2)

    def bn(self, x, name, training):
        gamma, beta = self.p(f"{name}/gamma"), self.p(f"{name}/beta")
        self.used.update({f"{name}/moving_mean", f"{name}/moving_variance"})
        mean, var = self.stats[f"{name}/moving_mean"], self.stats[f"{name}/moving_variance"]
        return F.batch_norm(x, mean.clone(), var.clone(), gamma, beta, training=training, momentum=0.1, eps=EPS)

    def bn_relu(self, x, name, training):
        return F.relu(self.bn(x, name, training))

    def forward(self, x, training):
        self.used = set()
        u = self.conv(x, "stem_conv")
        if self.family == "resnet":
            u = self.bn_relu(u, "stem_bn", training)
        previous = None
        channels = 16
        for stage, width in enumerate((16, 32, 64)):
            for block in range(self.n):
                name = f"s{stage + 1}_b{block + 1}"
                stride = 2 if stage > 0 and block == 0 else 1
                changes = stride != 1 or channels != width
                if self.family == "resnet":
                    f = self.bn(self.conv(F.relu(self.bn(self.conv(u, f"{name}_f_conv1", stride), f"{name}_f_bn1", training)), f"{name}_f_conv2"), f"{name}_f_bn2", training)
                    s = u
                    if changes:
                        s = u[:, :, ::stride, ::stride]
                        extra = width - channels
                        s = F.pad(s, (0, 0, 0, 0, extra // 2, extra - extra // 2))
                    u = F.relu(s + f)
                else:
                    h = self.conv(self.bn_relu(u, f"{name}_f_pre1_bn", training), f"{name}_f_conv1", stride)
                    f = self.conv(self.bn_relu(h, f"{name}_f_pre2_bn", training), f"{name}_f_conv2")
                    if changes or self.family == "preact" or previous is None:
                        s = self.conv(self.bn_relu(u, f"{name}_shortcut_pre_bn", training), f"{name}_shortcut_conv", stride) if changes else u
                        u, previous = s + f, s
                    else:
                        u, previous = self.lm_step(u, previous, f, name), u
                channels = width
        if self.family != "resnet":
            u = self.bn_relu(u, "final_bn", training)
        u = u.mean(dim=(2, 3))
        return F.linear(u, self.p("classifier/kernel"), self.p("classifier/bias"))

    def lm_step(self, u, previous, f, name):
        if f"{name}_lm/one_minus_k" in self.params:
            # the authors' storage: k' = 1 - k_n multiplies u_n
            kp = self.p(f"{name}_lm/one_minus_k").view(1, -1, 1, 1)
            return kp * u + (1 - kp) * previous + f
        k = self.p(f"{name}_lm/k").view(1, -1, 1, 1)
        return (1 - k) * u + k * previous + f

    def unused(self):
        return sorted((set(self.params) | set(self.stats)) - self.used)
