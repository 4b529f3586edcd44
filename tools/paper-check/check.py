"""Runs the PyTorch reference on a case folder of the @lm paper check and writes result.json.

  model.safetensors:  the weights as `lm export --format safetensors` writes them (reference names; the metadata
                      says which network, padding and k parametrisation); loaded with strict=True
  x.bin:              float32 images, NHWC;   labels.json: integer labels
  case.json:          {"batch": 4, "height": 32, "width": 32}

result.json: evaluation- and training-mode logits, the mean cross-entropy of the training-mode logits and its
gradient with respect to every parameter, by PyTorch name, in PyTorch's layout (flattened, row-major), and
`reluMargin`: the smallest |input| of a ReLU in the training-mode pass relative to the largest input of that
ReLU. A gradient is only defined to float32 precision when no input lies within float32 rounding of the kink:
one input at 2e-8 flips its side between float32 and float64 and moves earlier gradients by several percent.
Float64 unless LM_REFERENCE_DTYPE=float32. Usage: check.py <case folder>
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import load  # noqa: E402


def read_case(case_dir):
    def path(name):
        p = os.path.join(case_dir, name)
        if not os.path.exists(p):
            raise SystemExit(f"{case_dir}: {name} is missing (see tools/paper-check/README.md for a case folder's files)")
        return p

    with open(path("case.json")) as f:
        case = json.load(f)
    for field in ("batch", "height", "width"):
        if not isinstance(case.get(field), int) or case[field] < 1:
            raise SystemExit(f"{path('case.json')}: field {field!r} must be a positive integer, got {case.get(field)!r}")
    with open(path("labels.json")) as f:
        labels = torch.tensor(json.load(f), dtype=torch.long)
    with open(path("x.bin"), "rb") as f:
        raw = f.read()
    expected = 4 * case["batch"] * case["height"] * case["width"] * 3
    if len(raw) != expected:
        raise SystemExit(f"{path('x.bin')}: {len(raw)} bytes, expected {expected} (float32 NHWC {case['batch']}x{case['height']}x{case['width']}x3)")
    x = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(case["batch"], case["height"], case["width"], 3)
    return x, labels, path("model.safetensors")


def main(case_dir):
    x, labels, weights = read_case(case_dir)
    # float64 by default: the reference is then exact to far below our float32 rounding
    dtype = torch.float32 if os.environ.get("LM_REFERENCE_DTYPE") == "float32" else torch.float64
    net = load(weights, dtype)
    x = x.to(dtype).permute(0, 3, 1, 2).contiguous()
    net.eval()
    with torch.no_grad():
        logits_eval = net(x)
    net.train()
    margins = []

    def record_margin(module, inputs):
        a = inputs[0].detach().abs()
        nonzero = a[a > 0]  # exact zeros (none in these networks) would sit on the kink in every precision alike
        if nonzero.numel():
            margins.append((nonzero.min() / nonzero.max()).item())

    hooks = [m.register_forward_pre_hook(record_margin) for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    logits_train = net(x)
    for h in hooks:
        h.remove()
    loss = F.cross_entropy(logits_train, labels)
    names, params = zip(*net.named_parameters())
    # allow_unused=False: a parameter the forward pass does not reach is an error
    grads = torch.autograd.grad(loss, params)
    result = {
        "logitsEval": logits_eval.flatten().tolist(),
        "logitsTrain": logits_train.detach().flatten().tolist(),
        "loss": loss.item(),
        "reluMargin": min(margins, default=1.0),
        "grads": {n: g.flatten().tolist() for n, g in zip(names, grads)},
    }
    tmp = os.path.join(case_dir, "result.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, os.path.join(case_dir, "result.json"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: check.py <case folder>")
    torch.set_num_threads(1)
    main(sys.argv[1])
