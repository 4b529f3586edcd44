"""ResNet-20 / LM-ResNet-20 training throughput in PyTorch, the same architectures as @lm/schemes builds.

resnet20: 3x3 conv 16 stem + BN + ReLU, 3 stages of 3 post-activation basic blocks (16/32/64), option-A shortcuts,
global average pooling, linear 10. lm-resnet20: pre-activation basic blocks, BN-ReLU-conv1x1 shortcuts where the
shape changes, u_{n+1} = (1 - k) u_n + k u_{n-1} + f(u_n) with a trainable scalar k, final BN-ReLU.
SGD momentum 0.9, softmax cross-entropy, random CIFAR-shaped data. Prints one JSON line per model.

usage: python3 torch_resnet20.py --threads 2 --batch 128 --warmup 3 --steps 10 [--models resnet20,lm-resnet20]
"""
import argparse
import json
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
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage, filters in enumerate([16, 32, 64]):
            for b in range(3):
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
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        steps, cin = [], 16
        for stage, filters in enumerate([16, 32, 64]):
            for b in range(3):
                first = stage == 0 and b == 0
                steps.append(PreActStep(cin, filters, 2 if stage > 0 and b == 0 else 1, lm=not first))
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


def measure(name, threads, batch, warmup, steps):
    torch.manual_seed(0)
    model = LMResNet20() if name == 'lm-resnet20' else ResNet20()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        t = time.perf_counter() - t0
        if i >= warmup:
            times.append(t)
    mean = sum(times) / len(times)
    best = min(times)
    return {'model': name, 'threads': threads, 'batch': batch, 'steps': steps, 'mean_step_s': mean, 'best_step_s': best,
            'images_per_s': batch / mean, 'best_images_per_s': batch / best, 'torch': torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--models', default='resnet20,lm-resnet20')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for name in a.models.split(','):
        print(json.dumps(measure(name, a.threads, a.batch, a.warmup, a.steps)), flush=True)


if __name__ == '__main__':
    main()
