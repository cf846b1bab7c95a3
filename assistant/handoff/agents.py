"""Staff accounts for the agent console: argon2id password hashes, lockout after repeated
failures, presence from the console's heartbeat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from assistant.storage import Agent, Database, LoginFailure

ROLES = ("agent", "supervisor", "compliance")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not-a-real-password")


class AgentError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class AgentInfo:
    id: int
    username: str
    name: str
    role: str


def _info(a: Agent) -> AgentInfo:
    return AgentInfo(a.id, a.username, a.display_name, a.role)


class AgentDirectory:
    def __init__(self, db: Database, *, max_failed: int = 5, lockout_s: int = 900, online_s: int = 60) -> None:
        self.db = db
        self.max_failed, self.lockout, self.online_window = max_failed, timedelta(seconds=lockout_s), timedelta(seconds=online_s)

    def add(self, username: str, name: str, role: str, password: str, now: datetime) -> AgentInfo:
        if not USERNAME.fullmatch(username):
            raise AgentError(422, "bad_username", "用户名只能包含字母、数字、点、下划线和连字符（2–64 位）。")
        if role not in ROLES:
            raise AgentError(422, "bad_role", "角色只能是 agent、supervisor 或 compliance。")
        if len(password) < 10:
            raise AgentError(422, "weak_password", "密码至少 10 位。")
        if not name.strip():
            raise AgentError(422, "bad_name", "请填写显示名。")
        with self.db.session() as s:
            if s.scalar(select(Agent).where(Agent.username == username)) is not None:
                raise AgentError(409, "agent_exists", f"用户名 {username} 已存在。")
            agent = Agent(username=username, display_name=name.strip()[:64], role=role,
                          password_hash=_hasher.hash(password), active=True, failed_logins=0, created_at=now)
            s.add(agent)
            s.flush()
            return _info(agent)

    def authenticate(self, username: str, password: str, now: datetime) -> AgentInfo:
        """The agent, or AgentError: 401 for a wrong name or password (the same answer for both), 429 while locked."""
        with self.db.session() as s:
            agent = s.scalar(select(Agent).where(Agent.username == username).with_for_update())
            if agent is None or not agent.active:
                error = self._unknown(s, username, password, now)
                info = None
            elif (locked := self._locked(agent, now)) is not None:
                raise locked
            else:
                error, info = self._check(agent, password, now)
        if error is not None:
            raise error  # after the session committed the failure count
        return info

    def _locked(self, row: Agent | LoginFailure, now: datetime) -> AgentError | None:
        if row.locked_until is not None and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            return AgentError(429, "account_locked", f"密码错误次数过多，账号已临时锁定，请约 {minutes} 分钟后再试或联系主管。")
        return None

    def _failed(self, row: Agent | LoginFailure, now: datetime) -> AgentError:
        row.failed_logins += 1
        if row.failed_logins >= self.max_failed:
            row.failed_logins, row.locked_until = 0, now + self.lockout
        return AgentError(401, "bad_credentials", "用户名或密码错误。")

    def _unknown(self, s, username: str, password: str, now: datetime) -> AgentError:
        """A name with no active account is counted and locked like an account, and costs as long."""
        s.execute(delete(LoginFailure).where(LoginFailure.updated_at < now - self.lockout - timedelta(days=1)))
        row = s.get(LoginFailure, username, with_for_update=True)
        if row is None:
            try:
                with s.begin_nested():
                    row = LoginFailure(username=username, failed_logins=0, updated_at=now)
                    s.add(row)
            except IntegrityError:  # the same name failing in another request at the same moment
                row = s.get(LoginFailure, username, with_for_update=True, populate_existing=True)
        row.updated_at = now
        if (locked := self._locked(row, now)) is not None:
            return locked  # as fast as an account's lock: no hash verified
        try:
            _hasher.verify(_DUMMY, password)
        except VerificationError:
            pass
        return self._failed(row, now)

    def _check(self, agent: Agent, password: str, now: datetime) -> tuple[AgentError | None, AgentInfo | None]:
        try:
            _hasher.verify(agent.password_hash, password)
        except (VerificationError, InvalidHashError):
            return self._failed(agent, now), None
        agent.failed_logins, agent.locked_until, agent.last_seen_at = 0, None, now
        if _hasher.check_needs_rehash(agent.password_hash):
            agent.password_hash = _hasher.hash(password)
        return None, _info(agent)

    def get(self, agent_id: int) -> AgentInfo | None:
        with self.db.session() as s:
            agent = s.get(Agent, agent_id)
            return _info(agent) if agent is not None and agent.active else None

    def by_username(self, username: str) -> AgentInfo | None:
        with self.db.session() as s:
            agent = s.scalar(select(Agent).where(Agent.username == username))
            return _info(agent) if agent is not None and agent.active else None

    def heartbeat(self, agent_id: int, now: datetime) -> None:
        with self.db.session() as s:
            agent = s.get(Agent, agent_id)
            if agent is not None:
                agent.last_seen_at = now

    def online(self, now: datetime) -> list[AgentInfo]:
        """Agents (and supervisors) whose console was heard from recently: they can take live tickets."""
        with self.db.session() as s:
            rows = s.scalars(select(Agent).where(Agent.active.is_(True), Agent.role.in_(("agent", "supervisor")),
                                                 Agent.last_seen_at >= now - self.online_window)
                             .order_by(Agent.id)).all()
            return [_info(a) for a in rows]

    def count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Agent)) or 0
