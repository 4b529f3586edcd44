"""PyTorch reference of the LM-ResNet paper's CIFAR networks (Lu et al. 2018, "Beyond Finite Layer Neural
Networks", Section 2.2 and Table 2), written from the paper and the authors' description.

  resnet:  He et al. (2015) post-activation ResNet: conv3x3-BN-ReLU stem; blocks conv-BN-ReLU-conv-BN, ReLU
           after the sum; option A shortcut (every 2nd pixel, new channels zero-padded, half before, half after).
  preact:  pre-activation ResNet: conv3x3 stem; blocks BN-ReLU-conv-BN-ReLU-conv; where the shape changes the
           shortcut is BN-ReLU-conv1x1/2; final BN-ReLU.
  lm:      the preact network stepped by the LM scheme, u_{n+1} = (1 - k_n) u_n + k_n u_{n-1} + f(u_n): the
           first step and the transitions are forward Euler steps, a transition's shortcut output is the
           u_{n-1} of the next step, and after an LM step u_{n-1} is the previous u_n.

All: three stages of widths 16/32/64 with n = (depth - 2) / 6 blocks, stride 2 at the first block of stages
2 and 3, global average pooling, a linear classifier. The modules carry conventional PyTorch names:

  conv1, bn1 (resnet), layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2}, layer{2,3}.0.shortcut.{bn,conv} (preact, lm),
  layer{s}.{i}.k (lm, i >= 1: k_n) or .one_minus_k (the authors' storage 1 - k_n), bn (preact, lm), fc.

`lm export --format safetensors` writes exactly these names for the zoo's resnet*, preact-resnet* and lm-resnet*
and records how to build the network in the file's metadata: `load(path)` returns the network, weights loaded
with strict=True.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

FAMILIES = {"resnet": "resnet", "preact-resnet": "preact", "lm-resnet": "lm"}
PADDINGS = ("symmetric", "tf-same")
K_PARAMETRISATIONS = ("k", "one-minus-k")
WIDTHS = (16, 32, 64)
BN_EPS = 1e-5


def tf_same_padding(size, kernel, stride):
    """F.pad amounts of TensorFlow's 'same' padding for spatial `size` (h, w): the larger half bottom/right."""
    pads = []
    for n in reversed(size):  # F.pad lists the last axis first
        total = max(kernel - (n % stride or stride), 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class Conv(nn.Conv2d):
    """A bias-free kernel x kernel convolution padded 'symmetric' (kernel // 2 on every side, PyTorch's) or
    'tf-same' (TensorFlow's: for stride 2 on an even input, one pixel at the bottom and right only)."""

    def __init__(self, c_in, c_out, kernel, stride, padding):
        if padding not in PADDINGS:
            raise ValueError(f"padding {padding!r}: expected one of {', '.join(PADDINGS)}")
        super().__init__(c_in, c_out, kernel, stride=stride, padding=kernel // 2 if padding == "symmetric" else 0, bias=False)
        self.tf_same = padding == "tf-same"
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        if self.tf_same:
            x = F.pad(x, tf_same_padding(x.shape[-2:], self.kernel_size[0], self.stride[0]))
        return super().forward(x)


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class BasicBlock(nn.Module):
    """Post-activation block: relu(shortcut(u) + bn2(conv2(relu(bn1(conv1(u)))))), option A shortcut."""

    def __init__(self, c_in, c_out, stride, padding):
        super().__init__()
        self.conv1 = Conv(c_in, c_out, 3, stride, padding)
        self.bn1 = batch_norm(c_out)
        self.conv2 = Conv(c_out, c_out, 3, 1, padding)
        self.bn2 = batch_norm(c_out)
        self.relu = nn.ReLU()
        self.stride, self.extra = stride, c_out - c_in

    def shortcut(self, u):
        if self.stride == 1 and self.extra == 0:
            return u
        s = u[:, :, :: self.stride, :: self.stride]
        return F.pad(s, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))

    def forward(self, u):
        f = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(u)))))
        return self.relu(self.shortcut(u) + f)


class PreActShortcut(nn.Module):
    """conv1x1(relu(bn(u))) with the block's stride: the shortcut where a pre-activation block changes shape."""

    def __init__(self, c_in, c_out, stride, padding):
        super().__init__()
        self.bn = batch_norm(c_in)
        self.conv = Conv(c_in, c_out, 1, stride, padding)
        self.relu = nn.ReLU()

    def forward(self, u):
        return self.conv(self.relu(self.bn(u)))


class PreActBlock(nn.Module):
    """One step of a pre-activation network, f(u) = conv2(relu(bn2(conv1(relu(bn1(u)))))).

    Forward Euler, u_{n+1} = s(u_n) + f(u_n) (s the shortcut), or, with `lm_step`, the LM scheme
    u_{n+1} = (1 - k_n) u_n + k_n u_{n-1} + f(u_n). Both return (u_{n+1}, the next step's u_{n-1})."""

    def __init__(self, c_in, c_out, stride, padding, lm_step=False, k_parametrisation="k", k_channels=1):
        super().__init__()
        self.bn1 = batch_norm(c_in)
        self.conv1 = Conv(c_in, c_out, 3, stride, padding)
        self.bn2 = batch_norm(c_out)
        self.conv2 = Conv(c_out, c_out, 3, 1, padding)
        self.relu = nn.ReLU()
        self.shortcut = PreActShortcut(c_in, c_out, stride, padding) if stride != 1 or c_in != c_out else None
        if lm_step and self.shortcut is not None:
            raise ValueError("an LM step keeps the shape of u; a block that changes it is a forward Euler step")
        self.lm_step = lm_step
        if lm_step:
            if k_parametrisation not in K_PARAMETRISATIONS:
                raise ValueError(f"k_parametrisation {k_parametrisation!r}: expected one of {', '.join(K_PARAMETRISATIONS)}")
            k = torch.empty(k_channels).uniform_(-0.1, 0.0)
            # the stored quantity is what weight decay pulls towards 0: k_n, or 1 - k_n as the authors keep it
            self.k_parametrisation = k_parametrisation
            if k_parametrisation == "k":
                self.k = nn.Parameter(k)
            else:
                self.one_minus_k = nn.Parameter(1 - k)

    def k_n(self):
        k = self.k if self.k_parametrisation == "k" else 1 - self.one_minus_k
        return k.view(1, -1, 1, 1)

    def forward(self, u, previous):
        f = self.conv2(self.relu(self.bn2(self.conv1(self.relu(self.bn1(u))))))
        if self.lm_step:
            k = self.k_n()
            return (1 - k) * u + k * previous + f, u
        s = u if self.shortcut is None else self.shortcut(u)
        return s + f, s


class CifarResNet(nn.Module):
    """`family` resnet | preact | lm of depth 6n + 2 on 3-channel images (any even side; 32 for CIFAR)."""

    def __init__(self, family, depth, num_classes=10, padding="symmetric", k_parametrisation="k", per_channel_k=False):
        super().__init__()
        if family not in FAMILIES.values():
            raise ValueError(f"family {family!r}: expected one of {', '.join(FAMILIES.values())}")
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth {depth} is not 6n + 2 with n >= 1")
        self.family = family
        self.relu = nn.ReLU()
        n = (depth - 2) // 6
        self.conv1 = Conv(3, WIDTHS[0], 3, 1, padding)
        if family == "resnet":
            self.bn1 = batch_norm(WIDTHS[0])
        c_in = WIDTHS[0]
        for stage, width in enumerate(WIDTHS, start=1):
            blocks = []
            for i in range(n):
                stride = 2 if stage > 1 and i == 0 else 1
                if family == "resnet":
                    blocks.append(BasicBlock(c_in, width, stride, padding))
                else:
                    lm = family == "lm" and i > 0
                    blocks.append(PreActBlock(c_in, width, stride, padding, lm, k_parametrisation, width if per_channel_k else 1))
                c_in = width
            setattr(self, f"layer{stage}", nn.ModuleList(blocks))
        if family != "resnet":
            self.bn = batch_norm(c_in)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x):
        u = self.conv1(x)
        stages = (self.layer1, self.layer2, self.layer3)
        if self.family == "resnet":
            u = self.relu(self.bn1(u))
            for block in (b for stage in stages for b in stage):
                u = block(u)
        else:
            previous = None
            for block in (b for stage in stages for b in stage):
                u, previous = block(u, previous)
            u = self.relu(self.bn(u))
        return self.fc(u.mean(dim=(2, 3)))


def parse_architecture(name):
    """'lm-resnet20' -> ('lm', 20); the names of the @lm zoo."""
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        rest = name[len(prefix):]
        if name.startswith(prefix) and rest.isdigit():
            return FAMILIES[prefix], int(rest)
    raise ValueError(f"architecture {name!r}: expected resnet<depth>, preact-resnet<depth> or lm-resnet<depth>")


def build(architecture, **options):
    """`build('lm-resnet20', padding='symmetric', k_parametrisation='one-minus-k')`."""
    family, depth = parse_architecture(architecture)
    return CifarResNet(family, depth, **options)


SAFETENSORS_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file: u64 little-endian header length, JSON header, raw data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, t in header.items():
        if t["dtype"] not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {t['dtype']}; expected one of {', '.join(SAFETENSORS_DTYPES)}")
        begin, end = t["data_offsets"]
        data = bytearray(raw[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(data, dtype=SAFETENSORS_DTYPES[t["dtype"]]).reshape(t["shape"]) if data else torch.zeros(t["shape"], dtype=SAFETENSORS_DTYPES[t["dtype"]])
    return tensors, metadata


def from_metadata(metadata, path="the file"):
    """The network that a file of `lm export` describes in its metadata (naming 'reference')."""
    if metadata.get("naming") != "reference":
        raise ValueError(
            f"{path}: written with naming {metadata.get('naming', '(none)')!r}, not 'reference': "
            f"the model {metadata.get('model', '(unknown)')!r} is not one of the reference's networks"
        )
    return build(
        metadata["architecture"],
        num_classes=int(metadata["num_classes"]),
        padding=metadata["padding"],
        k_parametrisation=metadata.get("k_parametrisation", "k"),
        per_channel_k=metadata.get("per_channel_k") == "true",
    )


def load(path, dtype=torch.float32):
    """The network of an `lm export` safetensors file with its weights (load_state_dict strict=True), as `dtype`."""
    tensors, metadata = read_safetensors(path)
    net = from_metadata(metadata, path).to(dtype)
    net.load_state_dict(tensors, strict=True)
    return net
