"""The `chainrule` command: train and evaluate networks on MNIST-style data.

    chainrule train --model mlp --dataset mnist --epochs 10 --lr 0.1 --save run.safetensors
    chainrule evaluate --checkpoint run.safetensors

Mistakes (bad arguments, missing files, unknown models) end with one line on stderr and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import chainrule as cr
from chainrule import io, models, nn, optim
from chainrule import train as training
from chainrule.data import DataLoader, load_dataset, transforms

DATASETS = ("mnist", "fashion-mnist")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("none", "cosine", "onecycle", "step")
# Pixel statistics of the training sets (scaled to [0, 1]); normalising with them speeds SGD up.
STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
# Each model's default recipe; any flag given on the command line overrides its entry.
RECIPES: dict[str, dict[str, Any]] = {
    "lenet5": {"epochs": 15, "batch_size": 128, "optimizer": "sgd", "lr": 0.05,
               "momentum": 0.9, "weight_decay": 5e-4, "schedule": "cosine", "augment_shift": 2},
    "mlp": {"epochs": 10, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
            "weight_decay": 0.0, "schedule": "cosine", "augment_shift": 0},
}


class CLIError(Exception):
    """A user mistake reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (it prints the whole usage block by default); the
    subcommands' parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _writable(path: str, flag: str) -> None:
    """Fail before training, not after the first epoch, when `path` cannot be written."""
    folder = Path(path).resolve().parent
    while not folder.exists():  # the writer creates missing folders: check the first that exists
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CLIError(f"{flag} {path}: cannot write into {folder}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="chainrule", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"chainrule {cr.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model and report test accuracy",
                       description="Train a model on MNIST or Fashion-MNIST and print progress, "
                       "one line per epoch and the final test accuracy.")
    t.add_argument("--model", default="lenet5",
                   help=f"model name ({', '.join(models.MODELS)}); default lenet5")
    t.add_argument("--dataset", default="mnist", choices=DATASETS)
    recipe = "; ".join(f"{m}: " + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in r.items())
                       for m, r in RECIPES.items())
    t.epilog = f"Default recipes (flags override them): {recipe}."
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--momentum", type=float, help="SGD/RMSprop momentum")
    t.add_argument("--weight-decay", type=float, help="L2 penalty coefficient")
    t.add_argument("--schedule", choices=SCHEDULES,
                   help="learning-rate schedule (cosine: anneal to 0 over the run)")
    t.add_argument("--augment-shift", type=int, metavar="PIXELS",
                   help="random translations of up to ±PIXELS during training (0: none)")
    t.add_argument("--hidden", type=int, nargs="+", default=[256],
                   help="MLP hidden layer sizes, e.g. --hidden 512 256")
    t.add_argument("--activation", default="relu", choices=sorted(models.ACTIVATIONS))
    t.add_argument("--pooling", default="max", choices=("max", "avg"), help="LeNet-5 pooling")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    t.add_argument("--resume", action="store_true",
                   help="continue from the --save checkpoint if it exists")
    t.add_argument("--history", metavar="PATH", help="write one JSON record per epoch")
    t.add_argument("--data-root", metavar="DIR", help="folder holding the dataset files")
    t.add_argument("--no-download", action="store_true", help="never download datasets")
    t.add_argument("--train-limit", type=int, metavar="N",
                   help="use only the first N training examples (quick runs)")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    e = sub.add_parser("evaluate", help="evaluate a saved checkpoint on the test set",
                       description="Rebuild the model stored in a checkpoint and report its "
                       "test loss and accuracy.")
    e.add_argument("--checkpoint", required=True, metavar="PATH")
    e.add_argument("--dataset", choices=DATASETS, help="default: the one it was trained on")
    e.add_argument("--data-root", metavar="DIR")
    e.add_argument("--no-download", action="store_true")
    e.add_argument("--batch-size", type=int, default=1000)
    return p


def _loaders(dataset: str, batch_size: int, seed: int, root: str | None, download: bool,
             train_limit: int | None = None, need_train: bool = True, shift: int = 0
             ) -> tuple[DataLoader | None, DataLoader]:
    mean, std = STATS[dataset]
    prep = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    augment = transforms.Compose([transforms.ToTensor(), transforms.RandomShift(shift),
                                  transforms.Normalize(mean, std)]) if shift else prep
    # A fallback is announced once, not once per split.
    said: list[str] = []

    def announce(line: str) -> None:
        said.append(line)
        print(line)

    test_set = load_dataset(dataset, train=False, root=root, download=download, log=announce)
    test = DataLoader(test_set, batch_size=1000, transform=prep)
    if not need_train:
        return None, test
    train_set: Any = load_dataset(dataset, train=True, root=root, download=download,
                                  log=None if said else print)
    if train_limit is not None:
        if train_limit <= 0:
            raise CLIError(f"--train-limit must be positive, got {train_limit}")
        train_set = cr.data.Subset(train_set, range(min(train_limit, len(train_set))))
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed,
                       transform=augment)
    return train, test


def _model(config: dict[str, Any]) -> nn.Module:
    if config["model"] == "mlp":
        return models.mlp(784, tuple(config["hidden"]), 10, config["activation"])
    if config["model"] == "lenet5":
        return models.lenet5(config["activation"], config.get("pooling", "max"))
    return models.get_model(config["model"])


def _optimizer(args: argparse.Namespace, params: Any) -> Any:
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay)
    if args.optimizer == "adam":
        return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    if args.optimizer == "adamw":
        return optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    return optim.RMSprop(params, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay)


def _scheduler(name: str, opt: Any, epochs: int, steps: int) -> tuple[Any, str]:
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs), "epoch"
    if name == "onecycle":
        return optim.lr_scheduler.OneCycleLR(opt, max_lr=opt.param_groups[0]["lr"],
                                             epochs=epochs, steps_per_epoch=steps), "batch"
    if name == "step":
        return optim.lr_scheduler.StepLR(opt, step_size=max(epochs // 3, 1)), "epoch"
    return None, "epoch"


def cmd_train(args: argparse.Namespace) -> int:
    if args.model not in models.MODELS:
        raise CLIError(f"unknown model {args.model!r}; choose from {', '.join(models.MODELS)}")
    for key, value in RECIPES.get(args.model, RECIPES["mlp"]).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.augment_shift < 0:
        raise CLIError(f"--augment-shift must be >= 0, got {args.augment_shift}")
    for flag in ("epochs", "batch_size"):
        if getattr(args, flag) <= 0:
            raise CLIError(f"--{flag.replace('_', '-')} must be positive, got "
                           f"{getattr(args, flag)}")
    if args.lr <= 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    if args.resume and not args.save:
        raise CLIError("--resume needs --save PATH (the checkpoint to continue from)")
    for flag, path in (("--save", args.save), ("--history", args.history)):
        if path:
            _writable(path, flag)
    cr.manual_seed(args.seed)
    config = {"model": args.model, "hidden": list(args.hidden), "activation": args.activation,
              "pooling": args.pooling, "dataset": args.dataset}
    model = _model(config)
    train_loader, test_loader = _loaders(args.dataset, args.batch_size, args.seed,
                                         args.data_root, not args.no_download, args.train_limit,
                                         shift=args.augment_shift)
    assert train_loader is not None  # asked for with need_train (the default)
    opt = _optimizer(args, model.parameters())
    sched, interval = _scheduler(args.schedule, opt, args.epochs, len(train_loader))
    n_params = sum(p.numel() for p in model.parameters())
    source = getattr(test_loader.dataset, "name", args.dataset)
    print(f"training {args.model} ({n_params:,} parameters) on {source}: "
          f"{len(train_loader.dataset):,} train / {len(test_loader.dataset):,} test examples, "
          f"{args.epochs} epochs, {args.optimizer} lr {args.lr} ({args.schedule} schedule), "
          f"batch {args.batch_size}"
          + (f", random shifts ±{args.augment_shift}px" if args.augment_shift else ""))
    history = training.fit(model, train_loader, nn.CrossEntropyLoss(), opt, args.epochs,
                           val_loader=test_loader, val_name="test", scheduler=sched,
                           scheduler_interval=interval,
                           progress=False if args.no_progress else None,
                           checkpoint=args.save, resume=args.resume, config=config)
    if args.history:
        keys = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "seconds")
        Path(args.history).write_text("".join(
            json.dumps({k: r[k] for k in keys if k in r}) + "\n" for r in history))
    if history:
        print(f"final test accuracy: {history[-1]['test_accuracy']:.2%}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    state = io.load(args.checkpoint)
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise CLIError(f"{args.checkpoint}: not a checkpoint written by `chainrule train`")
    config = state["config"]
    model = _model(config)
    model.load_state_dict(state["model"])
    dataset = args.dataset or config["dataset"]
    _, test = _loaders(dataset, args.batch_size, 0, args.data_root, not args.no_download,
                       need_train=False)
    result = training.evaluate(model, test, nn.CrossEntropyLoss())
    print(f"{config['model']} on {dataset} test set ({len(test.dataset):,} examples): "
          f"loss {result['loss']:.4f}, accuracy {result['accuracy']:.2%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"train": cmd_train, "evaluate": cmd_evaluate}[args.command](args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except (CLIError, OSError, ValueError, KeyError, TypeError, ArithmeticError) as e:
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"chainrule: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
