from punchcard_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class IdentitySettings(ServiceSettings):
    """Read from the environment (e.g. DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, HTTP_PORT)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "identity"
    http_port: int = 8101
