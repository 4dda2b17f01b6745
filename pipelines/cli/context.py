"""What every ``mlops`` command is given: the settings resolved once, at the top.

``--home`` (env ``MLOPS_HOME``) is resolved to a ``Home`` the first time a command asks for
it, and once: commands that never touch local state (rendering a definition, the AWS
commands) create no ``.mlops`` folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.local.home import Home


@dataclass
class Settings:
    home_option: str | None = None
    _home: Home | None = field(default=None, repr=False)

    @property
    def home(self) -> Home:
        if self._home is None:
            self._home = Home.resolve(self.home_option)
        return self._home
