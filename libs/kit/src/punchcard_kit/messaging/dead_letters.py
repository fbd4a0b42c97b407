"""Each consumer group's dead-letter topic ``<group>.dlq``, as ``deploy/topics.yaml``'s
``dead_letters`` section says. The one definition of the rule: the consumer kit, the topic tool
(``punchcard-topics``), the contracts generator and the Strimzi renderers all use it.

Standard library only: ``deploy/k8s/catalogue_render.py`` loads this file by its path, so the
renderers run without the kit installed."""

from __future__ import annotations


def dead_letter_topic(group_id: str) -> str:
    return f"{group_id}.dlq"


def dead_letter_topics(document: dict, group_suffix: str = "") -> list[tuple[str, int, dict]]:
    """(name, partitions, config) of every consumer group's ``<group><suffix>.dlq``, groups in
    catalogue order: the ``dead_letters`` config, then the group's own."""
    letters = document.get("dead_letters") or {}
    partitions = int(letters.get("partitions", 3))
    base = {str(k): str(v) for k, v in (letters.get("config") or {}).items()}
    own = letters.get("groups") or {}
    found = []
    for groups in (document.get("consumer_groups") or {}).values():
        for group in groups or []:
            config = {**base, **{str(k): str(v) for k, v in (own.get(group) or {}).items()}}
            found.append((dead_letter_topic(group + group_suffix), partitions, config))
    return found
