"""Request and response bodies of the logistics API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fangkong.logistics.enums import Availability, MedicalNeed, SupplyKind


class SupplyRequestCreate(BaseModel):
    household_id: int
    kind: SupplyKind
    medical_need: MedicalNeed | None = None
    detail: str = Field(default="", max_length=2000)


class SupplyRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    household_id: int
    building_id: int
    kind: str
    medical_need: str | None
    detail: str
    priority: int
    priority_reasons: list[str]
    status: str
    task_id: int | None


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    building_id: int
    status: str
    priority: int
    volunteer_id: int | None
    claimed_at: datetime | None
    completed_at: datetime | None
    completion_note: str | None
    minutes_worked: int | None


class TaskGrouping(BaseModel):
    area_code: str


class VolunteerCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    skills: list[str] = Field(default_factory=list, max_length=20)
    availability: Availability
    area_code: str


class VolunteerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    skills: list[str]
    area_path: str
    availability: str
    status: str
    minutes_worked: int


class TaskCompletion(BaseModel):
    note: str = Field(min_length=1, max_length=2000)
    minutes_worked: int
