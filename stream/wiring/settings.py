"""Worker settings: one validated object, from flags and ``SUPPORTPULSE_*`` environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.domain.definitions import (
    DEFAULT_BACKLOG_AGE_S,
    DEFAULT_CLOSED_RETENTION_S,
    DEFAULT_MAX_FUTURE_SKEW_S,
    DEFAULT_MAX_HELD_BYTES,
    DEFAULT_MAX_QUEUES,
    DEFAULT_MAX_TICKET_EVENTS,
    DEFAULT_ORPHAN_TIMEOUT_S,
    DEFAULT_SOLVED_RETENTION_S,
)
from stream.domain.facts import DEFAULT_FCR_REOPEN_WINDOW_S
from stream.domain.windows import RETENTION_SECONDS


class WorkerSettings(BaseSettings):
    """Everything a worker is configured with. Built once, at start-up, and passed down."""

    # hide_input_in_errors: a validation error would otherwise quote every input, the SASL
    # password included, and the CLI prints it.
    model_config = SettingsConfigDict(env_prefix="SUPPORTPULSE_", extra="forbid",
                                      hide_input_in_errors=True)  # fmt: skip

    broker: str = Field("kafka://127.0.0.1:9092", description="kafka://host:port[,host:port]")
    input_topic: str = "support.ticket-events"
    partitions: int = Field(4, ge=1, description="Partitions of topics the worker creates.")
    app_id: str = Field("supportpulse", description="Consumer group and table prefix.")
    web_host: str = Field("127.0.0.1", description="Interface of the HTTP server.")
    web_port: int = Field(6066, ge=1, le=65535)
    clock: Literal["wall", "event"] = "wall"
    policies: str | None = Field(
        None,
        description="SLA policy file (TOML); unset: the shipped deploy/sla/policies.toml; "
        "'none': no SLA clocks.",
    )
    staffing: str | None = Field(
        None,
        description="Staffing file (TOML): Erlang C targets per queue; unset: the shipped "
        "deploy/staffing/staffing.toml.",
    )
    staffing_interval_s: float = Field(
        10.0, gt=0, description="How often a worker publishes its partitions' staffing inputs."
    )
    staffing_stale_after_s: float = Field(
        60.0,
        gt=0,
        description="Staffing inputs of a partition not published for this long are left "
        "out (their worker is gone and nobody owns the partition yet).",
    )
    data_dir: Path = Path("./supportpulse-data")
    fcr_reopen_window_s: float = Field(DEFAULT_FCR_REOPEN_WINDOW_S, gt=0)
    orphan_timeout_s: float = Field(DEFAULT_ORPHAN_TIMEOUT_S, gt=0)
    max_future_skew_s: float = Field(DEFAULT_MAX_FUTURE_SKEW_S, ge=0)
    default_backlog_age_s: float = Field(DEFAULT_BACKLOG_AGE_S, gt=0)
    max_queues: int = Field(DEFAULT_MAX_QUEUES, ge=1)
    closed_retention_s: float = Field(
        DEFAULT_CLOSED_RETENTION_S,
        ge=RETENTION_SECONDS,
        description="Forget closed tickets after this.",
    )
    solved_retention_s: float = Field(
        DEFAULT_SOLVED_RETENTION_S,
        ge=RETENTION_SECONDS,
        description="Forget solved tickets after this.",
    )
    max_message_bytes: int = Field(65536, ge=1024)
    max_ticket_events: int = Field(
        DEFAULT_MAX_TICKET_EVENTS,
        ge=10,
        description="Events one ticket keeps; further ones are dead-lettered (too_large), "
        "so that no ticket's changelog record outgrows what the broker accepts.",
    )
    max_held_bytes: int = Field(
        DEFAULT_MAX_HELD_BYTES,
        ge=1024,
        description="Raw bytes of the events one ticket holds while its ticket.created has "
        "not arrived; an event beyond it is dead-lettered (too_large).",
    )
    batch_size: int = Field(5000, ge=1, description="Events applied per batch.")
    batch_within_s: float = Field(0.2, gt=0, description="Longest wait to fill a batch.")
    stream_handoff: bool = Field(
        False,
        description="Pass input messages through Faust's channels and streams, one by one, "
        "as Faust does by default, instead of handing each fetch to the processor at once "
        "(several times slower; kept as a fallback).",
    )
    fetch_max_wait_ms: int = Field(
        100,
        ge=1,
        le=30_000,
        description="Longest a fetch waits at the broker for new messages. Faust hard-codes "
        "1500; a broker that holds fetches until near this (the embedded one does) then "
        "delays every event by up to that long.",
    )
    housekeeping_interval_s: float = Field(5.0, gt=0)
    catch_up_lag_s: float = Field(
        60.0,
        gt=0,
        description="A partition reading events older than this while more are waiting is "
        "catching up: its SLA clocks follow its stream time, not the wall clock.",
    )
    deadline_interval_s: float = Field(
        1.0, gt=0, description="How often passed SLA deadlines are turned into breaches."
    )
    purge_interval_s: float = Field(60.0, gt=0, description="How often retention runs.")
    standby_replicas: int = Field(0, ge=0)
    group_instance_id: str | None = Field(
        None,
        description="Static group membership: a restarted worker with the same id "
        "takes its partitions back at once instead of after the session timeout.",
    )
    session_timeout_s: float = Field(10.0, ge=3, description="Consumer group session timeout.")
    broker_check_interval_s: float = Field(
        2.0,
        gt=0,
        description="How often the worker asks the cluster for its input topic's metadata "
        "(each broker gets this long to answer).",
    )
    broker_unreachable_after_s: float = Field(
        6.0,
        gt=0,
        description="/readyz answers 503 once no broker has answered for this long.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="With a SASL_* protocol; unset means PLAIN."
    )
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(
        None, description="CA bundle for SSL/SASL_SSL; unset: the system's CAs."
    )

    @model_validator(mode="after")
    def _solved_outlives_fcr(self) -> WorkerSettings:
        if self.solved_retention_s <= self.fcr_reopen_window_s:
            raise ValueError("solved_retention_s must exceed fcr_reopen_window_s, or a "
                             "late reopen could not correct FCR")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _broker_checks_fit(self) -> WorkerSettings:
        if self.broker_unreachable_after_s <= self.broker_check_interval_s:
            raise ValueError("broker_unreachable_after_s must exceed broker_check_interval_s, "
                             "or a single slow answer would make the worker unready")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _sasl_complete(self) -> WorkerSettings:
        # One default for every client: Faust and aiokafka would assume PLAIN, kafka-python
        # (the topic admin) would send no mechanism at all.
        if self.security_protocol.startswith("SASL_"):
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError(f"security_protocol {self.security_protocol} needs "
                                 "sasl_username and sasl_password")  # fmt: skip
            if self.sasl_mechanism is None:
                self.sasl_mechanism = "PLAIN"
        return self

    @field_validator("sasl_mechanism", mode="before")
    @classmethod
    def _mechanism_upper(cls, value: object) -> object:
        return value.strip().upper() or None if isinstance(value, str) else value

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if not value.startswith("kafka://") or len(value) <= len("kafka://"):
            raise ValueError("broker must look like kafka://host:port[,host:port]")
        return value

    @property
    def staffing_topic(self) -> str:
        """Where workers publish their partitions' staffing inputs for every worker to read."""
        return f"{self.app_id}-staffing"

    def aiokafka_security(self) -> dict[str, Any]:
        """SASL/TLS settings as aiokafka keyword arguments (empty for PLAINTEXT).

        For the worker's own aiokafka clients (the staffing reader, the broker check); the
        password is unwrapped here, into the keyword arguments only.
        """
        from stream.ingest.security import aiokafka_security

        password = self.sasl_password.get_secret_value() if self.sasl_password else ""
        return aiokafka_security({
            "SUPPORTPULSE_SECURITY_PROTOCOL": self.security_protocol,
            "SUPPORTPULSE_SASL_MECHANISM": self.sasl_mechanism or "",
            "SUPPORTPULSE_SASL_USERNAME": self.sasl_username or "",
            "SUPPORTPULSE_SASL_PASSWORD": password,
            "SUPPORTPULSE_SSL_CAFILE": str(self.ssl_cafile or ""),
        })  # fmt: skip

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` list for kafka-python clients."""
        return [s.strip() for s in self.broker.removeprefix("kafka://").split(",") if s.strip()]
