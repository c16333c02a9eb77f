"""FHIR R4 export: one ``collection`` Bundle of a Patient (pseudonymous), the Devices
that produced the events (serial, firmware and model versions) and Observations,
validated with ``fhir.resources`` (R4B models). Code mapping: docs/clinical-export.md.

Every Observation made from events names them in ``identifier`` (system
``urn:wearsense:event``, value ``SERIAL/EPOCH/SEQ``, type text = the event type) with two
extensions on each identifier: the model version and the event's time. With the
components (one per payload field) that is enough to rebuild the events:
``read_bundle`` does, and the round-trip test compares the result with the store.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from wearsense.export.common import (
    EventRecord,
    ExportData,
    ExportError,
    progress,
    record,
    write_text_atomic,
)
from wearsense.protocol import EventKind
from wearsense.store import derived
from wearsense.store.derived import ACTIVITY_NAMES, ACTIVITY_SUMMARY_S

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOCAL = "http://wearsense.invalid/fhir/CodeSystem/wearsense"
FIELD = "http://wearsense.invalid/fhir/CodeSystem/event-field"
EXT_MODEL = "http://wearsense.invalid/fhir/StructureDefinition/model-version"
EXT_TIME = "http://wearsense.invalid/fhir/StructureDefinition/event-time"
EVENT_SYSTEM = "urn:wearsense:event"
SERIAL_SYSTEM = "urn:wearsense:device-serial"
PSEUDONYM_SYSTEM = "urn:wearsense:pseudonym"
NAMESPACE = uuid.UUID("6f2c5a53-8d0e-4a3b-9b1e-57534e530001")

# The event types an Observation carries (and read_bundle gives back).
FHIR_TYPES = (
    EventKind.AF_START,
    EventKind.AF_END,
    EventKind.HR_SUMMARY,
    EventKind.FALL,
    EventKind.FALL_CANCELLED,
    EventKind.ACTIVITY_SUMMARY,
)

AF_CODE = {"system": SNOMED, "code": "49436004", "display": "Atrial fibrillation"}
HR_CODE = {"system": LOINC, "code": "8867-4", "display": "Heart rate"}
FALL_CODE = {"system": SNOMED, "code": "217082002", "display": "Accidental fall"}
ACTIVITY_CODE = {"system": LOCAL, "code": "activity-minutes", "display": "Activity minutes"}
GAP_CODE = {"system": LOCAL, "code": "data-gap", "display": "No data from the wearable"}
UNITS = {
    "bpm": ("/min", "beats/minute"),
    "s": ("s", "s"),
    "min": ("min", "min"),
    "%": ("%", "%"),
    "m[g]": ("m[g]", "milli g"),
    "h": ("h", "h"),
}
FIELD_UNITS = {
    "hr_bpm": "bpm",
    "mean_hr_bpm": "bpm",
    "min_bpm": "bpm",
    "mean_bpm": "bpm",
    "max_bpm": "bpm",
    "confidence": "%",
    "onset_lag_s": "s",
    "duration_s": "s",
    "delay_s": "s",
    "stillness_s": "s",
    "impact_mg": "m[g]",
    "interval_s": "s",
    "fall_seq": "",
}


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _quantity(value: float, unit_key: str) -> dict[str, Any]:
    if not unit_key:
        return {"value": value}
    code, text = UNITS[unit_key]
    return {"value": value, "unit": text, "system": UCUM, "code": code}


def _component(type_name: str, name: str, value: float) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": FIELD, "code": f"{type_name}.{name}"}]},
        "valueQuantity": _quantity(value, FIELD_UNITS.get(name, "")),
    }


def _identifier(data: ExportData, event: EventRecord) -> dict[str, Any]:
    return {
        "extension": [
            {"url": EXT_MODEL, "valueInteger": event.model_version},
            {"url": EXT_TIME, "valueDateTime": data.iso(event.utc)},
        ],
        "system": EVENT_SYSTEM,
        "value": f"{event.serial}/{event.epoch}/{event.seq}",
        "type": {"text": event.type},
    }


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]}]


class _Builder:
    def __init__(self, data: ExportData) -> None:
        self.data = data
        self.patient_ref = "urn:uuid:" + _uuid("patient", data.patient_label)
        self.device_refs = {d.serial: "urn:uuid:" + _uuid("device", d.serial) for d in data.devices}
        self.entries: list[dict[str, Any]] = []

    def device_ref(self, serial: str) -> str:
        if serial not in self.device_refs:
            self.device_refs[serial] = "urn:uuid:" + _uuid("device", serial)
        return self.device_refs[serial]

    def add(self, full_url: str, resource: dict[str, Any]) -> None:
        self.entries.append({"fullUrl": full_url, "resource": resource})

    def observation(
        self,
        events: list[EventRecord],
        code: dict[str, Any],
        category: str,
        serial: str,
        model_version: int | None,
        **body: Any,
    ) -> None:
        """``model_version``: the model that produced it; 0 or None where none did (the
        heart rate comes from the QRS detector, a data gap from the store): then the
        Observation has no model-version extension and the device display no version."""
        ident = _uuid(
            "obs",
            code["code"],
            *(f"{e.serial}/{e.epoch}/{e.seq}" for e in events),
            body.get("effectivePeriod", body.get("effectiveDateTime", "")),
        )
        resource: dict[str, Any] = {"resourceType": "Observation", "id": ident}
        if model_version:
            resource["extension"] = [{"url": EXT_MODEL, "valueInteger": model_version}]
        resource |= {
            "status": body.pop("status", "final"),
            "category": _category(category),
            "code": {"coding": [code], "text": code["display"]},
            "subject": {"reference": self.patient_ref},
            "device": {
                "reference": self.device_ref(serial),
                "display": f"{serial} (model version {model_version})" if model_version else serial,
            },
        }
        if events:
            resource["identifier"] = [_identifier(self.data, e) for e in events]
        resource.update(body)
        self.add("urn:uuid:" + ident, resource)


def build_bundle(data: ExportData) -> dict[str, Any]:
    """The Bundle as a JSON-ready dict (validated by ``write_fhir``)."""
    b = _Builder(data)
    b.add(
        b.patient_ref,
        {
            "resourceType": "Patient",
            "id": b.patient_ref.split(":")[-1],
            "identifier": [{"system": PSEUDONYM_SYSTEM, "value": data.patient_label}],
            "active": True,
        },
    )
    for device in data.devices:
        versions = [{"type": {"text": "firmware"}, "value": device.firmware or "unknown"}]
        for task, version in (
            ("afib model", device.afib_version),
            ("fall model", device.fall_version),
            ("activity model", device.activity_version),
        ):
            versions.append(
                {
                    "type": {"text": task},
                    "value": str(version) if version is not None else "unknown",
                }
            )
        b.add(
            b.device_refs[device.serial],
            {
                "resourceType": "Device",
                "id": b.device_refs[device.serial].split(":")[-1],
                "identifier": [{"system": SERIAL_SYSTEM, "value": device.serial}],
                "serialNumber": device.serial,
                "deviceName": [{"name": "WearSense patch", "type": "model-name"}],
                "version": versions,
                "patient": {"reference": b.patient_ref},
            },
        )
    events = data.events
    by_key = {e.key: e for e in events}
    for episode in derived.af_episodes(events, end_utc=data.end_utc):
        parts: list[EventRecord] = []
        comps: list[dict[str, Any]] = []
        if episode.start_key is not None:
            start = record(by_key[episode.start_key])
            parts.append(start)
            comps += [_component(EventKind.AF_START, k, v) for k, v in start.fields.items()]
        period = {"start": data.iso(episode.start_utc)}
        if episode.end_key is not None and episode.end_utc is not None:
            end = record(by_key[episode.end_key])
            parts.append(end)
            comps += [_component(EventKind.AF_END, k, v) for k, v in end.fields.items()]
        if episode.end_utc is not None:
            period["end"] = data.iso(episode.end_utc)
        extra: dict[str, Any] = {}
        if episode.inferred_end:  # how the store closed it, since the device did not
            extra["note"] = [{"text": f"AF episode {episode.status} (no AF end event)"}]
        b.observation(
            parts,
            AF_CODE,
            "exam",
            episode.serial,
            episode.model_version,
            effectivePeriod=period,
            valueBoolean=True,
            component=comps,
            **extra,
        )
    for e in events:
        if e.type == EventKind.HR_SUMMARY:
            r = record(e)
            f = r.fields
            b.observation(
                [r],
                HR_CODE,
                "vital-signs",
                r.serial,
                None,  # the QRS detector's, not a model's
                effectivePeriod={
                    "start": data.iso(r.utc - f["interval_s"]),
                    "end": data.iso(r.utc),
                },
                valueQuantity=_quantity(f["mean_bpm"], "bpm"),
                # interval and mean are the period and the value: not repeated
                component=[
                    _component(EventKind.HR_SUMMARY, k, f[k]) for k in ("min_bpm", "max_bpm")
                ],
            )
        elif e.type == EventKind.ACTIVITY_SUMMARY:
            r = record(e)
            b.observation(
                [r],
                ACTIVITY_CODE,
                "activity",
                r.serial,
                r.model_version,
                effectivePeriod={
                    "start": data.iso(r.utc - ACTIVITY_SUMMARY_S),
                    "end": data.iso(r.utc),
                },
                valueQuantity=_quantity(sum(r.fields["minutes"]), "min"),
                component=[
                    {
                        "code": {
                            "coding": [
                                {
                                    "system": FIELD,
                                    "code": f"{EventKind.ACTIVITY_SUMMARY}.minutes.{name}",
                                }
                            ]
                        },
                        "valueQuantity": _quantity(m, "min"),
                    }
                    for name, m in zip(ACTIVITY_NAMES, r.fields["minutes"], strict=True)
                ],
            )
    for fall in derived.falls(events, end_utc=data.end_utc):
        r = record(by_key[fall.key])
        parts = [r]
        comps = [_component(EventKind.FALL, k, v) for k, v in r.fields.items()]
        if fall.cancel_key is not None:
            cancel = record(by_key[fall.cancel_key])
            parts.append(cancel)
            comps += [_component(EventKind.FALL_CANCELLED, k, v) for k, v in cancel.fields.items()]
        b.observation(
            parts,
            FALL_CODE,
            "survey",
            r.serial,
            r.model_version,
            status="cancelled" if fall.cancelled else "final",
            effectiveDateTime=data.iso(r.utc),
            valueBoolean=True,
            component=comps,
        )
    serial = data.devices[0].serial if data.devices else events[0].serial
    for gap in derived.data_gaps(events, start_utc=data.start_utc, end_utc=data.end_utc):
        b.observation(
            [],
            GAP_CODE,
            "activity",
            serial,
            None,  # derived by the store
            effectivePeriod={"start": data.iso(gap.start_utc), "end": data.iso(gap.end_utc)},
            valueQuantity=_quantity(round(gap.hours, 2), "h"),
            note=[{"text": gap.message}],
        )
    return {
        "resourceType": "Bundle",
        "id": _uuid("bundle", data.patient_label, data.start_utc, data.end_utc),
        "type": "collection",
        "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
        "entry": b.entries,
    }


def validate(bundle: dict[str, Any], show_progress: bool = False) -> None:
    """Checks the Bundle with fhir.resources' R4B models, entry by entry (so a long
    export shows progress) and then the Bundle itself; ExportError when invalid."""
    from fhir.resources.R4B.bundle import Bundle, BundleEntry
    from pydantic import ValidationError

    entries = bundle.get("entry", [])
    try:
        for i, entry in enumerate(progress(entries, "validating FHIR", show_progress)):
            try:
                BundleEntry.model_validate(entry)
            except ValidationError as exc:
                raise ExportError(f"FHIR entry {i} does not validate: {exc}") from exc
        Bundle.model_validate({**bundle, "entry": entries[:1]})
    except ValidationError as exc:
        raise ExportError(f"the FHIR Bundle does not validate: {exc}") from exc


def write_fhir(data: ExportData, destination: str | Path, show_progress: bool = False) -> Path:
    bundle = build_bundle(data)
    validate(bundle, show_progress)
    return write_text_atomic(destination, json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")


def read_bundle(text: str) -> list[EventRecord]:
    """The events a WearSense Bundle carries, rebuilt from its Observations (validated
    first). ExportError when the text is not a valid FHIR R4 Bundle."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        bundle = Bundle.model_validate_json(text)
    except ValidationError as exc:
        raise ExportError(f"not a valid FHIR R4 Bundle: {exc}") from exc
    out: list[EventRecord] = []
    for entry in bundle.entry or []:
        res: Any = entry.resource
        if res is None or res.__resource_type__ != "Observation" or not res.identifier:
            continue
        fields: dict[str, dict[str, Any]] = defaultdict(dict)
        minutes: dict[str, int] = {}
        for comp in res.component or []:
            code = comp.code.coding[0].code
            value = comp.valueQuantity.value
            type_name, _, name = code.partition(".")
            if name.startswith("minutes."):
                minutes[name.split(".", 1)[1]] = int(value)
            else:
                fields[type_name][name] = int(value)
        if res.code.coding[0].code == HR_CODE["code"]:
            period = res.effectivePeriod
            fields[EventKind.HR_SUMMARY]["interval_s"] = int(
                period.end.timestamp() - period.start.timestamp()
            )
            fields[EventKind.HR_SUMMARY]["mean_bpm"] = int(res.valueQuantity.value)
        for ident in res.identifier:
            serial, epoch, seq = ident.value.rsplit("/", 2)
            ext = {x.url: x for x in ident.extension or []}
            moment = ext[EXT_TIME].valueDateTime
            type_name = ident.type.text
            got = dict(fields.get(type_name, {}))
            if type_name == EventKind.ACTIVITY_SUMMARY:
                got = {"minutes": [minutes[n] for n in ACTIVITY_NAMES]}
            out.append(
                EventRecord(
                    serial=serial,
                    epoch=int(epoch),
                    seq=int(seq),
                    type=type_name,
                    utc=float(moment.timestamp()),
                    model_version=int(ext[EXT_MODEL].valueInteger),
                    fields=got,
                )
            )
    return out
