"""One typed settings object. Every URL, key and limit comes from the environment (or `.env`).

Unset means the embedded default: SQLite, in-process tasks and events, a local folder for files,
the outbox table for mail. Setting a URL switches that capability to the real service.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- where the app is reachable (links in mail, portal links) ---
    public_url: str = "http://localhost:3000"
    data_dir: Path = PROJECT_ROOT / ".data"

    # --- database: SQLite file by default, PostgreSQL (+pgvector) by URL ---
    database_url: str = ""
    embedding_dim: int = 384

    # --- embeddings: the packaged MiniLM (ONNX, 384-d) by default, any OpenAI-compatible API by setting ---
    embeddings_provider: str = ""  # "" (packaged MiniLM) | "openai" (any OpenAI-compatible /v1/embeddings)
    embeddings_base_url: str = "https://api.openai.com/v1"
    embeddings_api_key: str = ""
    embeddings_model: str = "text-embedding-3-small"
    embeddings_timeout_seconds: float = 30.0

    # --- knowledge base: how documents are cut into the chunks the assistant retrieves and cites ---
    kb_chunk_chars: int = 1000
    kb_chunk_overlap: int = 150
    # An uploaded file is untrusted: what it may expand to is capped before it is read (Word parts, PDF streams,
    # decoded text), and it is read in a separate process with its own memory and time limits, so a file that
    # gets past the caps can kill only that process. A file that kills it kb_max_crashes times is quarantined.
    kb_max_expanded_mb: int = 200
    kb_max_compression_ratio: int = 100  # per part of a Word file, for parts larger than 1 MB
    kb_max_pdf_pages: int = 2000
    kb_worker_memory_mb: int = 1024
    kb_worker_timeout_seconds: int = 300
    kb_max_crashes: int = 2

    # --- background work: in-process threads by default, Celery on Redis by URL ---
    celery_broker_url: str = ""
    celery_result_backend: str = ""

    # --- live events across processes: in-process by default, Redis pub/sub by URL ---
    redis_url: str = ""

    # --- files: local folder by default, S3-compatible by bucket + endpoint ---
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    max_upload_mb: int = 25
    max_files_per_upload: int = 5  # files dropped at once on the Knowledge page
    max_api_body_kb: int = 1024  # any other request body (REST API JSON, forms)

    # --- the web app's own work: handlers that reach the backend run on these threads, off the event loop ---
    handler_threads: int = 16
    # Background work without a broker: threads per queue (replies, document ingestion, everything else).
    background_ai_threads: int = 2
    background_ingest_threads: int = 1
    background_default_threads: int = 1
    outside_call_seconds: float = 20.0
    # Addresses owners type (CalDAV, webhooks) may point at loopback / private networks: local development only.
    allow_private_urls: bool = False
    # Sites that may show the portal in a frame (an owner's own website), e.g. "https://salon.example": space-separated.
    portal_frame_ancestors: str = ""  # total time for one call to an outside server made while a person waits

    # --- mail: the outbox table by default, SMTP by host ---
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = "Front Desk <no-reply@localhost>"

    # --- SMS (portal verification codes, reminders): the outbox by default, Twilio's REST API by settings ---
    sms_provider: str = ""  # "" (outbox) | "twilio"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_base_url: str = "https://api.twilio.com"

    # --- customer portal and messaging limits ---
    portal_session_days: int = 30
    verification_code_minutes: int = 10
    verification_max_attempts: int = 5  # wrong tries of one code; each browser session has its own code
    verification_codes_per_hour: int = 3  # texted to one number at the request of one client address
    verification_codes_per_number_per_hour: int = 10  # to one number from anywhere: its owner is not flooded
    verification_codes_per_address_per_hour: int = 10  # asked from one address for any numbers (SMS pumping)
    message_max_chars: int = 4000
    customer_messages_per_minute: int = 20
    allowed_upload_types: str = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv," \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document," \
        "audio/mpeg,audio/wav,audio/ogg,audio/webm,audio/mp4"

    # --- secrets: signing links and encrypting stored credentials ---
    secret_key: str = Field(default="")
    encryption_key: str = ""  # stored credentials (calendar passwords, OAuth tokens); "" = derived from secret_key

    # --- accounts ---
    owner_session_days: int = 14
    password_reset_minutes: int = 60
    password_reset_links_per_hour: int = 3  # per account; the newest link replaces the older ones
    password_reset_requests_per_address_per_hour: int = 10
    # Wrong passwords are limited per account *and* client address, so a stranger elsewhere cannot lock the owner
    # out: after login_max_failures, each next try from that address waits, from login_first_wait_seconds
    # doubling up to login_max_wait_minutes.
    login_max_failures: int = 5
    login_first_wait_seconds: int = 30
    login_max_wait_minutes: int = 15
    # Caps over an hour. They never hold back an address that logged in to the account before (see
    # backend/accounts/login_limits.py): many accounts from one address is credential stuffing; one account from
    # many addresses is guessing spread out to dodge the per-address wait.
    login_failures_per_address_per_hour: int = 50
    login_failures_per_account_per_hour: int = 20
    min_password_length: int = 10
    # A deleted workspace stays recoverable this long (its owner logs in and cancels); then it is purged.
    workspace_deletion_grace_days: int = 14

    # --- client addresses: behind a reverse proxy, the peer is the proxy and the client is in X-Forwarded-For ---
    trusted_proxies: str = ""  # comma-separated addresses or networks (10.0.0.0/8); "" = trust no header

    # --- demo ---
    demo_email: str = "demo@frontdesk.example"
    demo_password: str = "demo-password-2026"

    # --- AI: personal data kept from outside AI services (LLM, embeddings API): e-mails, phones, cards and bank
    # accounts become placeholders in what is sent and are put back in the answer. The packaged models need none.
    redact_outside_ai: bool = True

    # --- AI: the language model behind the assistant; "" = no LLM, the embedded composer answers ---
    llm_base_url: str = ""  # any OpenAI-compatible chat API, e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1
    llm_api_key: str = ""
    llm_model: str = ""
    llm_timeout_seconds: float = 30.0
    llm_max_retries: int = 2  # extra tries after a timeout, lost connection, 429 or 5xx (never after 4xx)
    llm_temperature: float = 0.2
    llm_max_tokens: int = 500

    # --- AI: speech to text (voice messages); "" = the packaged Whisper tiny.en on the CPU ---
    stt_provider: str = ""  # "" (packaged Whisper tiny.en via faster-whisper) | "openai" (/v1/audio/transcriptions)
    stt_base_url: str = "https://api.openai.com/v1"
    stt_api_key: str = ""
    stt_model: str = "whisper-1"
    stt_threads: int = 2  # CPU threads of the packaged Whisper
    stt_max_seconds: int = 300  # longer recordings are refused with a clear error
    stt_timeout_seconds: float = 60.0  # transcription API only
    stt_max_retries: int = 2  # transcription API only

    # --- calendar sync: Google Calendar (OAuth client of type "Web application"); CalDAV needs no settings ---
    google_client_id: str = ""
    google_client_secret: str = ""
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    calendar_sync_days: int = 60  # how far ahead busy time is read from synced calendars
    calendar_sync_seconds: float = 120.0  # total time for one background sync with one calendar server

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            # SQLAlchemy picks psycopg2 for plain postgresql://; this project ships psycopg 3.
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://"):]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            return url
        return f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def is_postgres(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    @property
    def effective_secret_key(self) -> str:
        """A configured key, or one generated once and kept in the data folder so restarts keep sessions."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def portal_url(self, slug: str) -> str:
        return f"{self.public_url.rstrip('/')}/portal/{slug}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
