"""Training and evaluation throughput in PyTorch of the architectures @lm/schemes builds (the PyTorch side of
train-throughput.ts): resnet20/56, preact-resnet20, lm-resnet20/56 and lm-resnext29-8x64d.

resnet20: 3x3 conv 16 stem + BN + ReLU, 3 stages of 3 post-activation basic blocks (16/32/64), option-A shortcuts,
global average pooling, linear 10. lm-resnet20: pre-activation basic blocks, BN-ReLU-conv1x1 shortcuts where the
shape changes, u_{n+1} = (1 - k) u_n + k u_{n-1} + f(u_n) with a trainable scalar k, final BN-ReLU.
preact-resnet20 is lm-resnet20 without k (u_{n+1} = u_n + f(u_n)). lm-resnext29-8x64d: 3x3 conv 64 stem + BN + ReLU,
three stages of three post-activation grouped bottlenecks (conv1x1-BN-ReLU-gconv3x3(8 groups)-BN-ReLU-conv1x1-BN,
inner width 8*64*w/64, outputs 4w for w = 64/128/256), conv1x1-BN projection shortcuts, ReLU after every step, and
the LM update where the shape does not change. SGD momentum 0.9, weight decay 5e-4, softmax cross-entropy,
random CIFAR-shaped data; evaluation under no_grad in eval mode. Prints one JSON line.
With --serve: the same setup and warm-up (training steps, then one evaluation batch), then one command a line on
stdin, `train` (one training step) or `eval` (one evaluation batch), each answered with one JSON line
{"cmd": ..., "ms": ..., "cpu_ms": ...} (wall and process CPU milliseconds) on stdout; `quit` or the end of stdin ends it (the PyTorch side of lockstep.ts).

usage: python3 torch_models.py --model resnet20 --threads 2 --batch 128 --warmup 2 --steps 8 --eval-batch 100 --eval-steps 5
       python3 torch_models.py --serve --model resnet20 --threads 2 --batch 128 --warmup 2 --eval-batch 100
       python3 torch_models.py --model lm-resnet20 --pair preact-resnet20 --threads 2 --batch 128 --warmup 2 --steps 40
With --pair M2: the training steps of --model and of M2 alternately in this one process (A B, B A, ...), printing
the per-pair ratios of their step times and their median (the PyTorch side of train-step-worker.ts --pair).
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def shortcut_a(x, filters, stride):
    if stride != 1:
        x = x[:, :, ::stride, ::stride]
    extra = filters - x.shape[1]
    if extra > 0:
        x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
    return x


class BasicBlock(nn.Module):
    """ResNet-20's post-activation basic block with an option-A shortcut: u_{n+1} = relu(S(u) + f(u))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.cout, self.stride = cout, stride

    def forward(self, u):
        f = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(u)))))
        return F.relu(shortcut_a(u, self.cout, self.stride) + f)


class ResNet20(nn.Module):
    """CIFAR ResNet-(6n+2) (n = 3: ResNet-20)."""

    def __init__(self, num_classes=10, n=3):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage, filters in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(BasicBlock(cin, filters, 2 if stage > 0 and b == 0 else 1))
                cin = filters
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(F.relu(self.bn(self.stem(x)))).mean(dim=(2, 3)))


class PreActStep(nn.Module):
    """One step of LM-ResNet-20 as @lm/schemes builds it: a pre-activation branch f, a BN-ReLU-conv1x1 shortcut
    S where the shape changes, and u_{n+1} = (1 - k) u_n + k u_{n-1} + f(u_n) elsewhere (Euler at the first step)."""

    def __init__(self, cin, cout, stride, lm):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.projection = None
        if stride != 1 or cin != cout:
            self.projection = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, stride, bias=False))
        self.k = nn.Parameter(torch.empty(1).uniform_(-0.1, 0)) if lm and self.projection is None else None

    def forward(self, u, prev):
        f = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(u))))))
        if self.projection is not None:
            s = self.projection(u)
            return s + f, s
        if self.k is None:
            return u + f, u
        return u + self.k * (prev - u) + f, u


class LMResNet20(nn.Module):
    """CIFAR LM-ResNet-(6n+2), or the pre-activation ResNet when lm is False."""

    def __init__(self, num_classes=10, n=3, lm=True):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        steps, cin = [], 16
        for stage, filters in enumerate([16, 32, 64]):
            for b in range(n):
                first = stage == 0 and b == 0
                steps.append(PreActStep(cin, filters, 2 if stage > 0 and b == 0 else 1, lm=lm and not first))
                cin = filters
        self.steps = nn.ModuleList(steps)
        self.bn = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        u = self.stem(x)
        prev = u
        for step in self.steps:
            u, prev = step(u, prev)
        return self.fc(F.relu(self.bn(u)).mean(dim=(2, 3)))


class ResNeXtStep(nn.Module):
    """One LM-ResNeXt-29 step: a grouped post-activation bottleneck f, a conv1x1-BN projection S where the shape
    changes (u_{n+1} = relu(S(u) + f(u)), previous = S(u)), else u_{n+1} = relu(u + k (prev - u) + f(u))."""

    def __init__(self, cin, width, stride, cardinality=8, base_width=64, first=False):
        super().__init__()
        inner = cardinality * (width * base_width // 64)
        cout = 4 * width
        self.f = nn.Sequential(
            nn.Conv2d(cin, inner, 1, bias=False), nn.BatchNorm2d(inner), nn.ReLU(),
            nn.Conv2d(inner, inner, 3, stride, 1, groups=cardinality, bias=False), nn.BatchNorm2d(inner), nn.ReLU(),
            nn.Conv2d(inner, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.projection = None
        if stride != 1 or cin != cout:
            self.projection = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.k = nn.Parameter(torch.empty(1).uniform_(-0.1, 0)) if self.projection is None and not first else None

    def forward(self, u, prev):
        f = self.f(u)
        if self.projection is not None:
            s = self.projection(u)
            return F.relu(s + f), s
        if self.k is None:
            return F.relu(u + f), u
        return F.relu(u + self.k * (prev - u) + f), u


class LMResNeXt29(nn.Module):
    def __init__(self, num_classes=10, cardinality=8):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(64)
        steps, cin = [], 64
        for stage, width in enumerate([64, 128, 256]):
            for b in range(3):
                steps.append(ResNeXtStep(cin, width, 2 if stage > 0 and b == 0 else 1, cardinality))
                cin = 4 * width
        self.steps = nn.ModuleList(steps)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        u = F.relu(self.bn(self.stem(x)))
        prev = u
        for step in self.steps:
            u, prev = step(u, prev)
        return self.fc(u.mean(dim=(2, 3)))


MODELS = {
    'resnet20': lambda: ResNet20(n=3),
    'resnet56': lambda: ResNet20(n=9),
    'preact-resnet20': lambda: LMResNet20(n=3, lm=False),
    'lm-resnet20': lambda: LMResNet20(n=3),
    'lm-resnet56': lambda: LMResNet20(n=9),
    'lm-resnext29-8x64d': lambda: LMResNeXt29(cardinality=8),
}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(name, batch):
    torch.manual_seed(0)
    model = MODELS[name]()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.arange(batch) * 7 % 10
    return model, opt, x, y


def train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    # the metrics `lm train` keeps: loss and top-1/top-5 counts
    loss.item()
    logits.detach().topk(5, dim=1)


def measure(name, batch, warmup, steps, eval_batch, eval_steps):
    model, opt, x, y = setup(name, batch)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        train_step(model, opt, x, y)
        t = time.perf_counter() - t0
        if i >= warmup:
            times.append(t)
    rss = peak_rss_mb()
    model.eval()
    xe = torch.randn(eval_batch, 3, 32, 32)
    with torch.no_grad():
        model(xe)
        t0 = time.perf_counter()
        for _ in range(eval_steps):
            model(xe)
        eval_s = (time.perf_counter() - t0) / eval_steps
    mean = sum(times) / len(times)
    return {'model': name, 'batch': batch, 'train_images_per_s': batch / mean, 'best_train_images_per_s': batch / min(times),
            'mean_step_ms': mean * 1000, 'eval_images_per_s': eval_batch / eval_s, 'peak_rss_mb': rss, 'torch': torch.__version__}


def pair(name, other, batch, warmup, steps):
    """Step time of `name` over that of `other`, alternating in one process so that the machine's drift hits both."""
    sides = [setup(name, batch), setup(other, batch)]

    def time_step(side):
        t0 = time.perf_counter()
        train_step(*side)
        return time.perf_counter() - t0

    for _ in range(warmup):
        time_step(sides[0])
        time_step(sides[1])
    ratios = []
    for i in range(steps):
        if i % 2 == 0:
            ta, tb = time_step(sides[0]), time_step(sides[1])
        else:
            tb, ta = time_step(sides[1]), time_step(sides[0])
        ratios.append(ta / tb)
    ratios.sort()
    return {'model': name, 'pair': other, 'batch': batch, 'pairs': len(ratios), 'step_ratio_median': statistics.median(ratios),
            'step_ratios': ratios, 'torch': torch.__version__}


def serve(name, batch, warmup, eval_batch):
    """Training steps and evaluation batches on command, one line of stdin each (see the module doc)."""
    model, opt, x, y = setup(name, batch)
    xe = torch.randn(eval_batch, 3, 32, 32)

    def train():
        model.train()
        train_step(model, opt, x, y)

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(xe)

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + '\n')
        sys.stdout.flush()

    for _ in range(warmup):
        train()
    evaluate()
    commands = {'train': train, 'eval': evaluate}
    reply({'ready': True, 'side': 'pytorch', 'model': name, 'batch': batch, 'eval_batch': eval_batch, 'torch': torch.__version__})
    while True:
        line = sys.stdin.readline()
        cmd = line.strip()
        if not line or cmd == 'quit':
            return
        run = commands.get(cmd)
        if run is None:
            reply({'error': 'unknown command %s (expected one of train, eval, quit)' % json.dumps(cmd)})
            continue
        c0, t0 = time.process_time(), time.perf_counter()
        run()
        reply({'cmd': cmd, 'ms': (time.perf_counter() - t0) * 1000, 'cpu_ms': (time.process_time() - c0) * 1000})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='resnet20', choices=sorted(MODELS))
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--steps', type=int, default=8)
    ap.add_argument('--eval-batch', type=int, default=100)
    ap.add_argument('--eval-steps', type=int, default=5)
    ap.add_argument('--serve', action='store_true')
    ap.add_argument('--pair', choices=sorted(MODELS))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.pair:
        print(json.dumps(pair(a.model, a.pair, a.batch, a.warmup, a.steps)), flush=True)
        return
    if a.serve:
        serve(a.model, a.batch, a.warmup, a.eval_batch)
        return
    print(json.dumps(measure(a.model, a.batch, a.warmup, a.steps, a.eval_batch, a.eval_steps)), flush=True)


if __name__ == '__main__':
    main()
