"""FerretDB connection details for the fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class FerretDBAuth:
    """A FerretDB started with `--test-enable-new-auth` and an admin user (`hack/ferretdb up
    --auth`). FerretDB 1.24 then implements createUser (only with `roles: []`), dropUser,
    usersInfo and SCRAM-SHA-256 login; it authenticates but does not authorize: any user may
    use any database."""

    admin_uri: str
    host: str
    port: int
    admin_user: str
    admin_password: str

    @classmethod
    def from_admin_uri(cls, uri: str) -> FerretDBAuth:
        parts = urlsplit(uri)
        assert parts.hostname and parts.port and parts.username and parts.password is not None
        return cls(uri, parts.hostname, parts.port, parts.username, parts.password)

    def uri_for(self, user: str, password: str, database: str) -> str:
        """A URI logging in as `user` (created in `database`) and using `database`."""
        return (
            f"mongodb://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}"
            f"/{database}?authSource={database}"
        )
