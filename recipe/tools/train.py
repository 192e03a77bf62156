"""The launch scripts' one entry point: the preflight, then verl's trainer in the same process.

    python -m recipe.tools.train --config-path recipe --config-name justrl [Hydra overrides] [--cfg job|all] [--info]

What `python -m verl.trainer.main_ppo` takes, in any order. The run's identity is added to the overrides first
(`justrl.variant`, and the seed's keys for `justrl.seed=S`: recipe/tools/identity.py). Hydra's query flags
(`--cfg job|hydra|all`, `--info`, `--help`, ...) print and exit as main_ppo does, with the overrides given before or
after them (`--cfg` prints the config resolved). `--cfg job` on the recipe is answered here, by the same composition
without importing verl (about 1 s instead of 8; tests/test_recipe_tools_train.py compares the two), with a warning for
each unknown key; a key Hydra cannot set is one line, exit 2. Otherwise the launch preflight runs first
(recipe/tools/preflight.py): what stops the run is listed within seconds (exit 2), a run that is already complete
says so and exits 0, a resumed run goes without the start validation it already logged (`trainer.val_before_train=false`
added), and only then is verl's trainer started, here, so that verl and torch are imported once, not once for the
checks and again for training. On the recipe's own config verl's `main_ppo` runs on the config the preflight composed
(`run_verl`); on another (`--config-name` of a fork's own file) it composes its own from the same arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path

from recipe.tools import identity, preflight

CONFIG_FLAGS = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"}  # each takes a value
VALUED_QUERIES = {"--cfg", "-c", "--package", "-p"}
INFO_TOPICS = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def split_arguments(argv: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(config flags, Hydra's other flags, overrides), each with its values and in the order given."""
    config: list[str] = []
    flags: list[str] = []
    overrides: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in CONFIG_FLAGS:
            config += [arg, next(args, "")]
        elif arg in VALUED_QUERIES:
            flags += [arg, next(args, "")]
        elif arg in ("--info", "-i"):  # an optional topic
            flags.append(arg)
            topic = next(args, None)
            if topic in INFO_TOPICS:
                flags.append(topic)
            elif topic is not None:
                overrides.append(topic)
        elif arg.startswith("-"):
            flags.append(arg)
        else:
            overrides.append(arg)
    return config, flags, overrides


def main_ppo_argv(argv: list[str]) -> tuple[list[str], bool]:
    """main_ppo's arguments with every override before Hydra's other flags (argparse takes positionals on one side of
    an option only), the run's identity added (recipe/tools/identity.py), and whether those flags only ask Hydra
    something (print the config, help, ...). A ValueError for a malformed `justrl.seed`."""
    config, flags, overrides = split_arguments(argv)
    overrides = [*overrides, *identity.variant_overrides(overrides)]
    if ("--cfg" in flags or "-c" in flags) and "--resolve" not in flags:
        flags.append("--resolve")
    return [*config, *overrides, *flags], bool(flags)


def is_the_recipe(config: list[str]) -> bool:
    """Whether the config flags (`split_arguments`) name the recipe's own config, the one the preflight composes."""
    from recipe.protocol import RECIPE_DIR
    from recipe.tools.compose import CONFIG_NAME

    settings = dict(zip(config[::2], config[1::2], strict=True))
    path = settings.get("--config-path", settings.get("-cp"))
    name = settings.get("--config-name", settings.get("-cn"))
    if path is None or name != CONFIG_NAME or "--config-dir" in settings or "-cd" in settings:
        return False
    return Path(path).resolve() == RECIPE_DIR


def run_verl(cfg) -> None:
    """verl's `main_ppo` on the config the preflight composed. Hydra hands a config given to a main function straight
    to its body, so verl's trainer starts without Hydra composing the same config twice more (once for its run mode,
    once to run: about 1 s of every start) and without the output folder Hydra writes; its logging format is kept."""
    import logging

    from verl.trainer import main_ppo

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    main_ppo.main(cfg)


def print_job_config(argv: list[str]) -> bool:
    """Print the resolved job config as `main_ppo --cfg job --resolve` does, if that is all `argv` asks of the recipe's
    own config; False (nothing printed) for anything else."""
    from omegaconf import OmegaConf

    from recipe.tools.known_keys import unknown_key_problems

    config, flags, overrides = split_arguments(argv)
    if sorted(flags) != sorted(["--cfg", "job", "--resolve"]) or not is_the_recipe(config):
        return False
    cfg = preflight.compose(overrides)
    if isinstance(cfg, str):
        raise ValueError(cfg)
    for problem in unknown_key_problems(cfg):
        print(f"warning: {problem}", file=sys.stderr)
    sys.stdout.write(OmegaConf.to_yaml(cfg))
    return True


def main(argv: list[str] | None = None) -> int:
    try:
        args, querying = main_ppo_argv(sys.argv[1:] if argv is None else argv)
        if querying and print_job_config(args):
            return 0
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not querying:
        status, cfg = preflight.prepare(args)
        if status not in (preflight.READY, preflight.RESUMING):
            return 2 if status == preflight.PROBLEMS else 0
        if is_the_recipe(split_arguments(args)[0]):
            run_verl(cfg)
            return 0
        if status == preflight.RESUMING:
            args = [*args, preflight.SKIP_START_VALIDATION]
    from verl.trainer import main_ppo

    sys.argv = [main_ppo.__file__, *args]
    main_ppo.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
