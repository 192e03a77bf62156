"""Figures for eval's commands: drawn off-screen, written atomically as PNG, closed."""

from __future__ import annotations

from pathlib import Path


def figure(width: float = 7, height: float = 4):
    """(figure, axes) on matplotlib's off-screen backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def save_png(fig, path: Path, dpi: int = 110) -> None:
    import matplotlib.pyplot as plt

    from data_prep.files import atomic_output

    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
