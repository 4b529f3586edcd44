#!/usr/bin/env python3
"""Reference throughput of the torchvision ImageNet training pipeline.

PIL decoding, RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize,
a DataLoader with as many workers as cores and batch size 64, over the images of
an ImageNet-style folder (``<root>/<wnid>/*.JPEG``) repeated ``--repeat`` times
per epoch. Worker start-up is kept out of the timing (persistent workers and one
warm-up epoch); the figure is the best of ``--trials`` timed epochs.

Prints one JSON object on stdout. When torch/torchvision cannot be imported or
the folder is missing it prints ``{"available": false, "reason": ...}`` and
exits 0, so the caller reports the row as skipped.
"""
import argparse
import json
import os
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--repeat", type=int, default=5, help="passes over the folder per timed epoch")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compare", metavar="MANIFEST",
                   help="instead: mean and max absolute difference of raw RGB tiles against PIL's "
                        "resize(BILINEAR, box=...); MANIFEST is JSON {bin, size, items: [{path, box}]} and "
                        "bin holds one size x size x 3 uint8 tile per item, in order")
    p.add_argument("--decode-only", action="store_true",
                   help="instead: CPU ms per image of a single-threaded PIL decode (open + convert('RGB'))")
    args = p.parse_args()

    try:
        import torch
        import torchvision
        from torch.utils.data import DataLoader, Dataset
        from torchvision import transforms
        from torchvision.datasets.folder import default_loader, make_dataset, IMG_EXTENSIONS
        import PIL
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"available": False, "reason": f"torchvision not importable: {e}"}))
        return 0
    if not os.path.isdir(args.root):
        print(json.dumps({"available": False, "reason": f"no data at {args.root}"}))
        return 0

    classes = sorted(d.name for d in os.scandir(args.root) if d.is_dir())
    class_to_idx = {c: i for i, c in enumerate(classes)}
    samples = make_dataset(args.root, class_to_idx, extensions=IMG_EXTENSIONS)

    if args.compare:
        import numpy as np
        from PIL import Image
        with open(args.compare) as f:
            manifest = json.load(f)
        size = manifest["size"]
        tiles = np.fromfile(manifest["bin"], dtype=np.uint8).reshape(-1, size, size, 3).astype(np.int32)
        total = 0.0
        worst = 0
        for tile, item in zip(tiles, manifest["items"]):
            with Image.open(item["path"]) as im:
                ref = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR, box=tuple(item["box"]))).astype(np.int32)
            d = np.abs(ref - tile)
            total += d.mean()
            worst = max(worst, int(d.max()))
        print(json.dumps({"available": True, "mean_abs": total / len(manifest["items"]), "max_abs": worst,
                          "images": len(manifest["items"]), "pillow": PIL.__version__}))
        return 0

    if args.decode_only:
        from PIL import Image
        best = float("inf")
        for _ in range(args.trials):
            c0 = time.process_time()
            for path, _t in samples:
                with Image.open(path) as im:
                    im.convert("RGB")
            best = min(best, (time.process_time() - c0) * 1000 / len(samples))
        print(json.dumps({"available": True, "decode_cpu_ms": best, "images": len(samples), "pillow": PIL.__version__}))
        return 0
    tf = transforms.Compose([
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    class Repeated(Dataset):
        def __init__(self, samples, repeat):
            self.samples = samples
            self.repeat = repeat

        def __len__(self):
            return len(self.samples) * self.repeat

        def __getitem__(self, i):
            path, target = self.samples[i % len(self.samples)]
            return tf(default_loader(path)), target

    torch.manual_seed(args.seed)
    ds = Repeated(samples, args.repeat)
    loader = DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                        persistent_workers=args.workers > 0, drop_last=False)

    tick = os.sysconf("SC_CLK_TCK")

    def cpu_seconds() -> float:
        """user + system time of this process and the (persistent) DataLoader workers."""
        pids = [os.getpid()]
        it = getattr(loader, "_iterator", None)
        pids += [w.pid for w in getattr(it, "_workers", [])]
        total = 0.0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                pass
        return total

    def epoch() -> tuple[int, float, float]:
        n = 0
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        for xs, ys in loader:
            n += xs.shape[0]
        secs = time.perf_counter() - t0
        return n, secs, cpu_seconds() - c0

    epoch()  # warm-up: starts the workers, warms the page cache
    rates = []
    cpu_ms = []
    n = 0
    for _ in range(args.trials):
        n, secs, cpu = epoch()
        rates.append(n / secs)
        cpu_ms.append(cpu * 1000 / n)
    print(json.dumps({
        "available": True,
        "images_per_sec": max(rates),
        "rates": rates,
        "cpu_ms_per_image": cpu_ms,
        "images_per_epoch": n,
        "distinct_images": len(samples),
        "workers": args.workers,
        "batch_size": args.batch_size,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "pillow": PIL.__version__,
        "python": sys.version.split()[0],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
