"""Errors of the models package; each builds its message so callers can show it as is."""

from __future__ import annotations


class ArtifactMissingError(FileNotFoundError):
    """No trained artifact for a city and model: precompute reports it, never crashes."""

    def __init__(self, city_id: str, model: str, where: str) -> None:
        super().__init__(f"no trained {model} artifact for {city_id} under {where}; "
                         f"run: python -m models.train --city {city_id} --models {model}")
        self.city_id, self.model = city_id, model


class ArtifactChecksumError(ValueError):
    """The artifact files differ from what was registered (edited, truncated or mixed up)."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(f"artifact {path} checksum {actual[:12]}... does not match the "
                         f"registered {expected[:12]}...; retrain or restore it")


class InsufficientHistoryError(ValueError):
    """Too little hourly history to train or to build a forecast's inputs."""

    def __init__(self, city_id: str, have_hours: int, need_hours: int) -> None:
        super().__init__(f"{city_id}: {have_hours} usable hours of demand history, "
                         f"need at least {need_hours}")
        self.city_id, self.have_hours, self.need_hours = city_id, have_hours, need_hours
