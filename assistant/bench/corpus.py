"""A deterministic, news-like corpus for the benchmark, sized in chunks (one paragraph = one chunk).

Paragraphs are built from sentence templates about diplomacy, trade, defence and technology, filled with
varied countries, people, companies, places and numbers, so keyword statistics look like news rather than
like a few repeated phrases. The same seed always gives the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

COUNTRIES = [
    "Japan", "the United States", "South Korea", "Australia", "India", "the Philippines", "Vietnam",
    "Indonesia", "Canada", "Germany", "France", "the United Kingdom", "Italy", "Brazil", "Mexico", "Taiwan",
    "Singapore", "Thailand", "Malaysia", "New Zealand", "Poland", "Sweden", "Norway", "Chile", "Peru",
]  # fmt: skip
PEOPLE = [
    "Foreign Minister Aiko Tanaka", "Secretary Daniel Brooks", "Trade Representative Maria Alvarez",
    "Defence Minister Kenji Morita", "Ambassador Laura Chen", "Deputy Secretary Omar Haddad",
    "Economy Minister Hiroshi Sato", "Senator Rachel Monroe", "Chief Negotiator Yuki Nakamura",
    "Admiral James Whitaker", "Commerce Secretary Priya Raman", "State Minister Taro Kobayashi",
    "Energy Minister Lars Eriksen", "Spokesperson Elena Rossi", "Governor Mark Delaney",
    "Vice Minister Naomi Fujita", "Under Secretary Samuel Ortiz", "Minister Anjali Mehta",
]  # fmt: skip
COMPANIES = [
    "Nippon Steel", "Toyota", "Hitachi", "Mitsubishi Heavy Industries", "SoftBank", "Panasonic",
    "Kyocera", "Lockheed Martin", "Micron", "Intel", "General Electric", "Boeing", "Rapidus",
    "Tokyo Electron", "Sony", "Honda", "Denso", "Westinghouse", "Chevron", "Cheniere Energy",
]  # fmt: skip
CITIES = [
    "Tokyo", "Osaka", "Washington", "Ohio", "Texas", "Arizona", "Hokkaido", "Kyushu", "Yokohama",
    "Pittsburgh", "Nagoya", "Alaska", "Louisiana", "Okinawa", "Guam", "Seoul", "Canberra", "Manila",
]  # fmt: skip
TOPICS = {
    "diplomacy": [
        "the alliance", "regional security", "a joint statement", "the summit agenda", "visa rules",
        "student exchanges", "maritime law", "the Indo-Pacific strategy", "humanitarian aid",
    ],
    "trade": [
        "steel tariffs", "automobile exports", "liquefied natural gas", "rice imports", "beef quotas",
        "investment screening", "the trade deficit", "supply chains", "critical minerals",
    ],
    "defence": [
        "joint naval exercises", "missile defence", "shipbuilding", "host-nation support",
        "coast guard patrols", "satellite surveillance", "fighter jet production", "troop rotations",
    ],
    "technology": [
        "semiconductor plants", "quantum computing", "artificial intelligence", "battery research",
        "undersea cables", "5G networks", "space launches", "cybersecurity", "nuclear fusion",
    ],
}  # fmt: skip
VERBS = [
    "agreed on", "discussed", "reviewed", "raised concerns about", "pledged support for",
    "announced a plan for", "set a deadline for", "welcomed progress on", "postponed talks on",
]  # fmt: skip
OPENERS = [
    "{person} said on {day} that {country} and {country2} {verb} {topic}.",
    "{country} {verb} {topic} during talks in {city}, according to {person}.",
    "Officials from {country} and {country2} met in {city} and {verb} {topic}.",
    "In a statement issued in {city}, {person} confirmed that {country} {verb} {topic}.",
]
DETAILS = [
    "The package is worth about {money} billion dollars over {years} years.",
    "{company} expects to hire {jobs} workers at a new site in {city}.",
    "Exports of {topic2} rose {pct} percent in the quarter to {month}.",
    "The plan includes {count} projects, the first of which starts in {month} {year}.",
    "{company} said its investment of {money} billion dollars in {city} depends on {topic2}.",
    "Analysts noted that {topic2} accounted for {pct} percent of bilateral trade last year.",
    "A working group of {count} officials will report on {topic2} by {month}.",
    "The two sides also touched on {topic2}, which {person} called a priority.",
]
CLOSERS = [
    "Further talks are planned for {month} in {city}.",
    "{person} declined to give a timetable.",
    "Critics in {country2} said the terms favoured {country}.",
    "Markets in {city} reacted calmly to the news.",
    "The agreement still needs approval by the parliament of {country}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip
QUESTIONS = [
    "What did {country} and {country2} agree about {topic}?",
    "How much is {company} investing in {city}?",
    "What did {person} say about {topic}?",
    "When are further talks on {topic} planned?",
]


@dataclass(frozen=True)
class Paragraph:
    area: str
    text: str


def _fill(template: str, rng: random.Random, area: str) -> str:
    country, country2 = rng.sample(COUNTRIES, 2)
    other_area = rng.choice(list(TOPICS))
    return template.format(
        person=rng.choice(PEOPLE),
        country=country,
        country2=country2,
        company=rng.choice(COMPANIES),
        city=rng.choice(CITIES),
        verb=rng.choice(VERBS),
        topic=rng.choice(TOPICS[area]),
        topic2=rng.choice(TOPICS[other_area]),
        day=rng.choice(DAYS),
        month=rng.choice(MONTHS),
        year=rng.randint(2025, 2031),
        money=rng.choice([1, 2, 3, 5, 8, 12, 15, 20, 25, 40, 55, 80, 120, 550]),
        years=rng.randint(2, 10),
        jobs=rng.randint(2, 90) * 100,
        pct=rng.randint(2, 48),
        count=rng.randint(3, 40),
    )


def paragraph(rng: random.Random) -> Paragraph:
    area = rng.choice(list(TOPICS))
    parts = [_fill(rng.choice(OPENERS), rng, area)]
    parts += [_fill(t, rng, area) for t in rng.sample(DETAILS, rng.randint(2, 3))]
    parts.append(_fill(rng.choice(CLOSERS), rng, area))
    return Paragraph(area, " ".join(parts))


def paragraphs(n: int, seed: int = 6) -> list[str]:
    """``n`` paragraphs (one chunk each), the same for the same ``seed``."""
    rng = random.Random(seed)
    return [paragraph(rng).text for _ in range(n)]


def questions(n: int, seed: int = 60) -> list[str]:
    """``n`` news-desk questions in the corpus's vocabulary (some answered by it, some not)."""
    rng = random.Random(seed)
    return [_fill(rng.choice(QUESTIONS), rng, rng.choice(list(TOPICS))) for _ in range(n)]


def write_corpus(folder: Path, texts: list[str], per_file: int = 50, prefix: str = "news") -> list[Path]:
    """Write ``texts`` as Markdown files of ``per_file`` paragraphs each, with a front-matter title."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, first in enumerate(range(0, len(texts), per_file)):
        path = folder / f"{prefix}-{number:05d}.md"
        title = f"News digest {prefix} {number}"
        body = "\n\n".join(texts[first : first + per_file])
        path.write_text(f'---\ntitle: "{title}"\n---\n{body}\n', encoding="utf-8")
        paths.append(path)
    return paths
