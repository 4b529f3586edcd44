"""Runs the PyTorch reference on a case folder written by the @lm paper check and writes result.json.

  case.json:  {"family": "lm", "depth": 20, "padding": "symmetric", "batch": 4, "height": 32, "width": 32}
  x.bin:      float32 images, NHWC;   labels.json: integer labels
  model/:     a saved @lm model (model.json + weights-*.bin)

result.json: evaluation- and training-mode logits, the mean cross-entropy of the training-mode logits and its
gradient with respect to every trainable weight, in our layout and names. Usage: check.py <case folder>
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Network, from_torch_layout, read_saved_model  # noqa: E402


def main(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    with open(os.path.join(case_dir, "labels.json")) as f:
        labels = torch.tensor(json.load(f), dtype=torch.long)
    raw = open(os.path.join(case_dir, "x.bin"), "rb").read()
    x = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(case["batch"], case["height"], case["width"], 3)
    # float64 by default: the reference is then exact to far below our float32 rounding
    dtype = torch.float32 if os.environ.get("LM_REFERENCE_DTYPE") == "float32" else torch.float64
    x = x.to(dtype).permute(0, 3, 1, 2).contiguous()
    net = Network(case["family"], case["depth"], read_saved_model(os.path.join(case_dir, "model"), dtype), case.get("padding", "symmetric"))
    with torch.no_grad():
        logits_eval = net.forward(x, training=False)
    logits_train = net.forward(x, training=True)
    unused = net.unused()
    if unused:
        raise SystemExit(f"{case_dir}: weights of the saved model the reference does not use: {', '.join(unused[:10])}")
    loss = F.cross_entropy(logits_train, labels)
    names = sorted(net.used & set(net.params))
    grads = torch.autograd.grad(loss, [net.params[n] for n in names])
    result = {
        "logitsEval": logits_eval.flatten().tolist(),
        "logitsTrain": logits_train.detach().flatten().tolist(),
        "loss": loss.item(),
        "grads": {n: from_torch_layout(n, g).flatten().tolist() for n, g in zip(names, grads)},
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
