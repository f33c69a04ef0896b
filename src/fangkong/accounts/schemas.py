from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fangkong.accounts.enums import Role


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    jurisdiction_path: str | None
    is_active: bool


class MeRead(UserRead):
    permissions: list[str]


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=256)
    role: Role
    area_code: str | None = Field(default=None, max_length=24)
    person_id: int | None = None
    household_id: int | None = None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    expires_at: datetime | None = None


class TokenIssued(BaseModel):
    token: str
    name: str
