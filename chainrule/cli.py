"""The `chainrule` command: train and evaluate networks on MNIST-style data.

    chainrule train --model mlp --dataset mnist --epochs 10 --lr 0.1 --save run.safetensors
    chainrule evaluate --checkpoint run.safetensors

Mistakes (bad arguments, missing files, unknown models) end with one line on stderr and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

import chainrule as cr
from chainrule import distributed, io, models, nn, optim
from chainrule import train as training
from chainrule.data import DataLoader, load_dataset, transforms
from chainrule.inspect.summary import add_summary_parser, summary_command
from chainrule.inspect.trace import add_trace_parser, trace_command
from chainrule.inspect._commands import add_picture_parsers, plot_command, visualize_command
from chainrule.lecture import add_lecture_parser, lecture_command
from chainrule.playground import add_playground_parser, playground_command

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
    t.add_argument("--model", help=f"model name ({', '.join(RECIPES)}); default lenet5")
    t.add_argument("--dataset", choices=DATASETS, help="default mnist")
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
    t.add_argument("--hidden", type=int, nargs="+",
                   help="MLP hidden layer sizes, e.g. --hidden 512 256 (default 256)")
    t.add_argument("--activation", choices=sorted(models.ACTIVATIONS), help="default relu")
    t.add_argument("--pooling", choices=("max", "avg"), help="LeNet-5 pooling (default max)")
    t.add_argument("--seed", type=int, help="default 0")
    t.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    t.add_argument("--resume", action="store_true",
                   help="continue the run saved in the --save checkpoint, if it exists, with "
                   "its recipe (flags that contradict it are refused, except a larger --epochs)")
    t.add_argument("--history", metavar="PATH",
                   help="append one JSON record per epoch (JSON lines) as each epoch ends")
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
    add_summary_parser(sub)
    add_trace_parser(sub)
    add_picture_parsers(sub)
    add_lecture_parser(sub)
    add_playground_parser(sub)
    return p


def _loaders(dataset: str, batch_size: int, seed: int, root: str | None, download: bool,
             train_limit: int | None = None, need_train: bool = True, shift: int = 0,
             fallback: bool = False) -> tuple[DataLoader | None, DataLoader]:
    """The train and test loaders. `fallback`: whether missing data may be replaced by the
    bundled digits (only for a run that named no dataset, folder or download rule)."""
    mean, std = STATS[dataset]
    prep = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    augment = transforms.Compose([transforms.ToTensor(), transforms.RandomShift(shift),
                                  transforms.Normalize(mean, std)]) if shift else prep
    # A fallback is announced once, not once per split.
    said: list[str] = []

    def announce(line: str) -> None:
        said.append(line)
        print(line)

    test_set = load_dataset(dataset, train=False, root=root, download=download,
                            fallback=fallback, log=announce)
    test = DataLoader(test_set, batch_size=1000, transform=prep)
    if not need_train:
        return None, test
    train_set: Any = load_dataset(dataset, train=True, root=root, download=download,
                                  fallback=fallback, log=None if said else print)
    if train_limit is not None:
        if train_limit <= 0:
            raise CLIError(f"--train-limit must be positive, got {train_limit}")
        train_set = cr.data.Subset(train_set, range(min(train_limit, len(train_set))))
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed,
                       transform=augment)
    return train, test


def _zero_config(args: argparse.Namespace) -> bool:
    """The main job as the README runs it: no dataset, folder or download rule named anywhere.
    Only then may missing MNIST be replaced by the bundled digits (loudly)."""
    return (args.dataset is None and args.data_root is None and not args.no_download
            and not os.environ.get("CHAINRULE_DATA"))


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


#: what a run is made of, as `train` flags (dest names), and their defaults beside RECIPES
MODEL_KEYS = ("model", "hidden", "activation", "pooling", "dataset")
RECIPE_KEYS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule",
               "augment_shift")
RUN_KEYS = ("seed", "train_limit")
DEFAULTS: dict[str, Any] = {"model": "lenet5", "hidden": [256], "activation": "relu",
                            "pooling": "max", "dataset": "mnist", "seed": 0}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _show(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


class _HistoryFile(training.Callback):
    """`--history`: one JSON line per epoch, appended as each epoch ends (so an interrupted run
    keeps the epochs it finished)."""

    KEYS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
            "seconds")

    def __init__(self, path: str, earlier: Sequence[dict[str, Any]]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(self._line(r) for r in earlier))

    def _line(self, record: dict[str, Any]) -> str:
        return json.dumps({k: record[k] for k in self.KEYS if k in record}) + "\n"

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        with self.path.open("a") as f:
            f.write(self._line(record))
        return False


class _LastEpoch(training.Callback):
    def __init__(self, done: int) -> None:
        self.done = done

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        self.done = epoch
        return False


def _saved_run(path: str) -> dict[str, Any]:
    state = io.load(path)
    if not isinstance(state, dict) or "config" not in state or "epoch" not in state:
        raise CLIError(f"--resume: {path} is not a checkpoint written by `chainrule train`")
    if "recipe" not in state["config"]:
        raise CLIError(f"--resume: {path} does not record its recipe (written by an older "
                       f"chainrule), so it cannot be continued exactly; start a new run")
    return state


def _adopt(args: argparse.Namespace, given: set[str], saved: dict[str, Any], path: str) -> None:
    """Continue the saved run: take its recipe, refusing typed flags that contradict it (more
    epochs are allowed: the schedule is then rebuilt for the new length)."""
    config = saved["config"]
    recorded = {**{k: config.get(k) for k in MODEL_KEYS}, **config["recipe"],
                **config.get("run", {})}
    conflicts = [f"{_flag(k)} {_show(getattr(args, k))} (the checkpoint has {_show(v)})"
                 for k, v in recorded.items()
                 if k in given and k != "epochs" and getattr(args, k) != v]
    if conflicts:
        raise CLIError(f"--resume: {'; '.join(conflicts)} contradicts the run saved in {path}; "
                       f"drop the flag to continue that run, or train a new one without --resume")
    for k, v in recorded.items():
        if k not in given:
            setattr(args, k, v)
    if args.epochs < saved["epoch"]:
        raise CLIError(f"--resume: {path} has already trained {saved['epoch']} epochs; "
                       f"--epochs {args.epochs} is fewer")


def _check_recipe(args: argparse.Namespace) -> None:
    if args.augment_shift < 0:
        raise CLIError(f"--augment-shift must be >= 0, got {args.augment_shift}")
    for flag in ("epochs", "batch_size"):
        if getattr(args, flag) <= 0:
            raise CLIError(f"{_flag(flag)} must be positive, got {getattr(args, flag)}")
    if args.lr <= 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")


def _describe(args: argparse.Namespace) -> str:
    opt = f"{args.optimizer} lr {args.lr:g}"
    if args.optimizer in ("sgd", "rmsprop") and args.momentum:
        opt += f" momentum {args.momentum:g}"
    if args.weight_decay:
        opt += f" weight decay {args.weight_decay:g}"
    return (f"{args.epochs} epochs, {opt} ({args.schedule} schedule), batch {args.batch_size}"
            + (f", random shifts ±{args.augment_shift}px" if args.augment_shift else ""))


def _rebuild_schedule(args: argparse.Namespace, opt: Any, steps: int, done: int) -> Any:
    """The schedule of a run planned for `args.epochs` epochs, moved on to the end of epoch
    `done`: the learning rate continues that curve (cosine from the new length, never 0)."""
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"] = args.lr
    sched, interval = _scheduler(args.schedule, opt, args.epochs, steps)
    if sched is not None:
        with warnings.catch_warnings():  # stepping the schedule alone, on purpose
            warnings.simplefilter("ignore")
            for _ in range(done if interval == "epoch" else done * steps):
                sched.step()
    return sched


class _ShardLoader(DataLoader):
    """A rank's loader under mpiexec: its DistributedSampler's share of each epoch, with the
    random transforms drawn from (seed, rank, epoch), so a resumed run draws what the
    uninterrupted one would have on every rank (the checkpoint holds rank 0's loader only)."""

    def __init__(self, dataset: Any, seed: int, **kwargs: Any) -> None:
        super().__init__(dataset, seed=seed, **kwargs)
        self.base_seed = seed

    def __iter__(self) -> Any:
        fresh = np.random.default_rng([self.base_seed, distributed.rank(), self.sampler.epoch])
        self.generator.bit_generator.state = fresh.bit_generator.state
        return super().__iter__()


def _data_parallel(args: argparse.Namespace, train: DataLoader, test: DataLoader
                   ) -> tuple[DataLoader, DataLoader]:
    """This rank's train and test loaders: `--batch-size` stays the global batch, each of the
    ranks takes batch / ranks of it; the test set is dealt out without repeats."""
    ranks, rank = distributed.world_size(), distributed.rank()
    if args.batch_size % ranks:
        raise CLIError(f"--batch-size {args.batch_size} (the global batch) does not split "
                       f"evenly over {ranks} ranks; pick a multiple of {ranks}")
    sampler = distributed.DistributedSampler(train.dataset, ranks, rank, shuffle=True,
                                             seed=args.seed)
    shard = _ShardLoader(train.dataset, args.seed, batch_size=args.batch_size // ranks,
                         sampler=sampler, transform=train.transform)
    share = range(rank, len(test.dataset), ranks)
    return shard, DataLoader(test.dataset, batch_size=test.batch_size, sampler=share,
                             transform=test.transform)


def cmd_train(args: argparse.Namespace) -> int:
    """`chainrule train`; under `mpiexec -n N` every rank runs it data-parallel, rank 0 alone
    prints and writes, and a failure on any rank stops them all with one line naming it."""
    with contextlib.ExitStack() as stack:
        if distributed.rank() > 0:
            stack.enter_context(contextlib.redirect_stdout(
                stack.enter_context(open(os.devnull, "w"))))
        return int(distributed.run_or_abort(_train, args))


def _train(args: argparse.Namespace) -> int:
    keys = (*MODEL_KEYS, *RECIPE_KEYS, *RUN_KEYS)
    given = {k for k in keys if getattr(args, k) is not None}
    fallback = _zero_config(args)
    if args.resume and not args.save:
        raise CLIError("--resume needs --save PATH (the checkpoint to continue from)")
    saved = _saved_run(args.save) if args.resume and os.path.exists(args.save) else None
    if saved is not None:
        _adopt(args, given, saved, args.save)
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.model not in models.MODELS:
        raise CLIError(f"unknown model {args.model!r}; choose from {', '.join(models.MODELS)}")
    if args.model not in RECIPES:
        raise CLIError(f"train: {args.model} takes 3-channel ImageNet-sized images, not 28×28 "
                       f"digits; `chainrule train` trains {' and '.join(RECIPES)} (see "
                       f"`chainrule summary --model {args.model}` for its size)")
    for key, value in RECIPES[args.model].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    _check_recipe(args)
    for flag, path in (("--save", args.save), ("--history", args.history)):
        if path:
            _writable(path, flag)
    cr.manual_seed(args.seed)
    config: dict[str, Any] = {k: getattr(args, k) for k in MODEL_KEYS}
    config["recipe"] = {k: getattr(args, k) for k in RECIPE_KEYS}
    config["run"] = {k: getattr(args, k) for k in RUN_KEYS}
    model = _model(config)
    cr.jit.warm_up()  # numba's setup overlaps with reading the data
    train_loader, test_loader = _loaders(args.dataset, args.batch_size, args.seed,
                                         args.data_root, not args.no_download, args.train_limit,
                                         shift=args.augment_shift, fallback=fallback)
    assert train_loader is not None  # asked for with need_train (the default)
    if distributed.world_size() > 1:
        train_loader, test_loader = _data_parallel(args, train_loader, test_loader)
    source = getattr(test_loader.dataset, "name", args.dataset)
    config["data"] = source
    opt = _optimizer(args, model.parameters())
    sched, interval = _scheduler(args.schedule, opt, args.epochs, len(train_loader))
    done, earlier = 0, []
    n_params = sum(p.numel() for p in model.parameters())
    if saved is not None:
        if saved["config"].get("data", source) != source:
            raise CLIError(f"--resume: {args.save} was trained on {saved['config']['data']}, "
                           f"but this run found {source}")
        done, earlier = int(saved["epoch"]), list(saved.get("history", []))
        planned = saved["config"]["recipe"]["epochs"]
        longer = args.epochs != planned
        training.load_checkpoint(args.save, model, opt, None if longer else sched, train_loader)
        print(f"resuming {args.model} ({n_params:,} parameters) on {source} from {args.save} "
              f"after epoch {done} of {planned}: {_describe(args)}")
        if done == args.epochs:
            print(f"nothing to train: the run already did its {done} epochs (pass a larger "
                  f"--epochs to train longer)")
        elif longer:
            sched = _rebuild_schedule(args, opt, len(train_loader), done)
            print(f"--epochs {args.epochs}: the {args.schedule} schedule is rebuilt for "
                  f"{args.epochs} epochs; epoch {done + 1} runs at lr "
                  f"{opt.param_groups[0]['lr']:.4g}")
    else:
        print(f"training {args.model} ({n_params:,} parameters) on {source}: "
              f"{len(train_loader.dataset):,} train / {len(test_loader.dataset):,} test "
              f"examples, {_describe(args)}")
    last = _LastEpoch(done)
    callbacks: list[training.Callback] = [last]
    if args.history and distributed.rank() == 0:
        callbacks.append(_HistoryFile(args.history, earlier))
    try:
        net = distributed.DistributedDataParallel(model) if distributed.world_size() > 1 \
            else model
        history = training.fit(net, train_loader, nn.CrossEntropyLoss(), opt, args.epochs,
                               val_loader=test_loader, val_name="test", scheduler=sched,
                               scheduler_interval=interval,
                               progress=False if args.no_progress else None,
                               checkpoint=args.save, config=config, callbacks=callbacks,
                               initial_epoch=done, initial_history=earlier)
    except KeyboardInterrupt:
        if distributed.rank() == 0:
            print(_interrupted(args, last.done), file=sys.stderr)
        return 130
    if history:
        print(f"final test accuracy: {history[-1]['test_accuracy']:.2%}")
    return 0


def _interrupted(args: argparse.Namespace, done: int) -> str:
    line = f"chainrule: interrupted in epoch {done + 1}"
    if args.save and done > 0:
        again = list(args.argv) + ([] if args.resume else ["--resume"])
        return (f"{line}; the last checkpoint is {args.save} (after epoch {done}). Resume with: "
                f"chainrule {shlex.join(again)}")
    if args.save:
        return f"{line}; no epoch finished, so no checkpoint was written"
    return f"{line}; nothing was saved (pass --save PATH to be able to resume)"


def _trained_model(path: str) -> tuple[nn.Module, dict[str, Any]]:
    """The model a `chainrule train` checkpoint holds, rebuilt and loaded, and its config."""
    state = io.load(path)
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise CLIError(f"{path}: not a checkpoint written by `chainrule train`")
    config = state["config"]
    model = _model(config)
    model.load_state_dict(state["model"])
    return model, config


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, config = _trained_model(args.checkpoint)
    fallback = _zero_config(args)
    dataset = args.dataset or config["dataset"]
    _, test = _loaders(dataset, args.batch_size, 0, args.data_root, not args.no_download,
                       need_train=False, fallback=fallback)
    result = training.evaluate(model, test, nn.CrossEntropyLoss())
    source = getattr(test.dataset, "name", dataset)
    print(f"{config['model']} on the {source} test set ({len(test.dataset):,} examples): "
          f"loss {result['loss']:.4f}, accuracy {result['accuracy']:.2%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"train": cmd_train, "evaluate": cmd_evaluate,
                "summary": summary_command, "trace": trace_command,
                "visualize": lambda a: visualize_command(a, _trained_model, STATS),
                "plot": plot_command, "lecture": lecture_command,
                "playground": playground_command}[args.command](args)
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
