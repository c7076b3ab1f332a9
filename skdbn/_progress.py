"""Progress reports of long fits: one line per epoch, optional progress bars.

Every estimator reports the same way when ``verbose`` is set:

- ``verbose >= 1``: one line per epoch of each phase (each RBM layer, then
  fine-tuning), ``[phase] epoch  i/n, <quantity> <value>, ..., <seconds>s,
  ETA <h:mm:ss>``; the ETA assumes the remaining epochs take as long as the
  ones so far (for fine-tuning it is an upper bound, since early stopping
  may end it sooner).
- ``verbose >= 2``: also a progress bar over the minibatches of each epoch,
  when the ``tqdm`` package is installed (it never is required: without it
  the lines are all there is). Bars live only for the duration of an epoch
  and are never stored on an estimator, so they cannot break pickling.
"""


def format_duration(seconds):
    """``h:mm:ss`` for a number of seconds."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class EpochClock:
    """Measures epochs and predicts when a phase of ``n_epochs`` will end."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs
        self.elapsed = 0.0
        self.epochs_timed = 0

    def add(self, seconds):
        """Record one epoch that took ``seconds``."""
        self.elapsed += seconds
        self.epochs_timed += 1

    def eta(self, epochs_done):
        """Seconds left for the remaining epochs, or None if unknown."""
        if self.n_epochs is None or self.epochs_timed == 0:
            return None
        remaining = max(0, self.n_epochs - epochs_done)
        return remaining * self.elapsed / self.epochs_timed


def epoch_line(phase, epoch, n_epochs, quantities, seconds, eta=None):
    """One line of progress.

    Parameters
    ----------
    phase : str
        What is being trained, e.g. ``"layer 1/3"`` or ``"fine-tuning"``.
    epoch : int
        The 1-based epoch just finished.
    n_epochs : int or None
        Planned number of epochs of the phase (None when open-ended, as for
        ``partial_fit``).
    quantities : sequence of (str, float, str)
        Name, value and format of each monitored quantity.
    seconds : float
        Duration of the epoch.
    eta : float, optional
        Predicted seconds left in the phase.

    Returns
    -------
    line : str
    """
    of_total = "" if n_epochs is None else f"/{n_epochs}"
    parts = [f"[{phase}] epoch {epoch:>3}{of_total}"]
    parts += [f"{name} {value:{spec}}" for name, value, spec in quantities]
    parts.append(f"{seconds:.2f}s")
    if eta is not None:
        parts.append(f"ETA {format_duration(eta)}")
    return ", ".join(parts)


def minibatches(slices, n_batches, phase, verbose):
    """``slices``, behind a tqdm progress bar when ``verbose >= 2``.

    Falls back to the plain iterable when ``tqdm`` is not installed.
    """
    if verbose < 2:
        return slices
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return slices
    return tqdm(slices, total=n_batches, desc=phase, leave=False, unit="batch")
