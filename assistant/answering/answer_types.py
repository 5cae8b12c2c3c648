"""What kind of answer a question asks for, decided in code from its wh-word and the noun it asks about.

A typed question ("Which country...", "When...", "How much...") is only answered by evidence that holds a
filler of that type the question does not already name: "Which country besides the U.S. and Japan?" needs a
third country, not one of the two. Strict types are those where a missing filler means the documents do not
say ("When was it?" with no date anywhere); for the loose ones ("Who...?", "Where does energy come in?") the
answer often is a common noun ("senior officials"), so the filler is preferred, not required.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from assistant.japanese import ANALYSER, JapaneseAnalyser, has_japanese

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


@dataclass(frozen=True)
class AnswerType:
    kind: str  # person, country, organisation, date, place, amount, quote, reason, yesno, list, open
    labels: frozenset[str] = frozenset()  # spaCy entity labels that fill it; empty: any answer will do
    strict: bool = False  # no filler in the documents means they don't say
    missing: str = "that"  # how a partial refusal names what the documents lack: "when", "how much"...
    speaker: str = ""  # "What did Ishiba say?": only words said by Ishiba answer it
    described: frozenset[str] = frozenset()  # "Which *former prime minister*": what the filler must be
    topics: tuple[str, ...] = ()  # "Is *Okinawa* mentioned?": the documents must name one of these
    # "Why did Ishiba *bring* a *gift*?": what a reason presupposes happened, as (verb, its object or "")
    events: tuple[tuple[str, str], ...] = ()
    japanese: bool = False  # asked in Japanese: the answer's own words are Japanese too

    @property
    def locative(self) -> bool:
        """A place answer is where something is: a LOC or FAC, or a GPE after "in", "at", "near"..."""
        return self.kind == "place"

    @property
    def typed(self) -> bool:
        return bool(self.labels)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "labels": sorted(self.labels),
            "strict": self.strict,
            "speaker": self.speaker,
            "topics": list(self.topics),
            "events": [list(e) for e in self.events],
        }


PERSON = AnswerType("person", frozenset({"PERSON", "ORG", "NORP"}), False, "who")
NAMED = AnswerType("name", frozenset({"PERSON", "ORG"}), True, "their names")  # "Give me the names of..."
COUNTRY = AnswerType("country", frozenset({"GPE", "NORP"}), True, "which country")
# spaCy tags people ("Trump") and compounds ("U.S.-Japan") as ORG at times: an organisation is preferred,
# never required.
ORGANISATION = AnswerType("organisation", frozenset({"ORG"}), False, "which organisation")
DATE = AnswerType("date", frozenset({"DATE", "TIME"}), True, "when")
PLACE = AnswerType("place", frozenset({"GPE", "LOC", "FAC"}), True, "where")
WHERE = AnswerType("place", frozenset({"GPE", "LOC", "FAC"}), False, "where")  # "Where does X come in?"
AMOUNT = AnswerType("amount", frozenset({"MONEY", "CARDINAL", "QUANTITY", "PERCENT"}), True, "how much")
MENTION = AnswerType("mention", strict=True)  # "Is Abe mentioned?": yes if a passage names him
QUOTE = AnswerType("quote")
REASON = AnswerType("reason", missing="why")
YESNO = AnswerType("yesno")
LIST = AnswerType("list")
OPEN = AnswerType("open")

# The noun a "which/what ..." question asks about, by lemma.
_HEAD_NOUNS: dict[AnswerType, frozenset[str]] = {
    PERSON: frozenset(
        "person people leader official minister president premier pm secretary man woman politician "
        "predecessor diplomat spokesperson spokesman ambassador chancellor head negotiator".split()
    ),
    COUNTRY: frozenset("country nation ally".split()),
    PLACE: frozenset("city venue place location town site capital".split()),
    DATE: frozenset("date day year month time week deadline".split()),
    AMOUNT: frozenset(
        "amount figure number rate percentage percent share price cost sum total budget value".split()
    ),
    ORGANISATION: frozenset("company firm organisation organization party agency corporation".split()),
}
_VAGUE = frozenset("kind sort type form".split())  # "what kind of X" asks about X
_SAYING = frozenset("say quote word remark tell state describe call".split())
# Verbs of saying: "What did X say?" is answered by words whose speaker is X.
SPEECH = frozenset(
    "say tell state reply respond answer comment remark add acknowledge express hint signal warn note "
    "stress emphasize emphasise announce declare describe call praise quote".split()
)
_AUXILIARIES = frozenset("is are was were do does did will would can could has have had should may".split())
_MEASURES = frozenset("much many large big high long often".split())
# A wh-word that opens one of these clauses sets the time or place of an event, it does not ask for it.
_CLAUSES = frozenset({"advcl", "relcl"})


def _asked_noun(doc: Doc, wh: Token) -> Token | None:
    """The noun after a wh-word ("which *country*", "what kind of *assurance*"), if any comes first."""
    for token in doc[wh.i + 1 : wh.i + 6]:
        if token.pos_ in ("VERB", "AUX"):
            return None
        if token.pos_ in ("NOUN", "PROPN") and token.lemma_.lower() not in _VAGUE:
            while token.dep_ == "compound" and token.head.i > token.i:  # "administration officials"
                token = token.head
            return token
    return None


def subject_of(token: Token) -> Token | None:
    """The subject of a verb, looked for up its chain ("remained cautious but *acknowledged*": officials;
    "expressed confidence, *stating*...": President Trump)."""
    for _ in range(4):
        subject = next((c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if subject is not None:
            return subject
        if token.dep_ not in ("conj", "advcl", "xcomp", "ccomp", "acl") or token.head is token:
            return None
        token = token.head
    return None


def _description(noun: Token) -> frozenset[str]:
    """The asked noun and the words that narrow it: "which earlier Japanese *leader*" -> early, japanese,
    leader; "which former *prime minister*" -> former, prime, minister."""
    words = [noun, *(c for c in noun.children if c.dep_ in ("amod", "compound", "nmod"))]
    return frozenset(
        t.lemma_.lower() for t in words if t.is_alpha and t.lemma_.lower() not in ("other", "which")
    )


def _names_someone(token: Token) -> bool:
    """A speaker is a name or a word for people ("officials"), not "the article" or "the interest"."""
    people = _HEAD_NOUNS[PERSON]
    return token.pos_ == "PROPN" or token.lemma_.lower() in people or token.ent_type_ in ("PERSON", "NORP")


def _says_a_clause(verb: Token) -> bool:
    """Does the verb of saying take a clause ("say *the era is meant to secure*")?"""
    return any(c.dep_ == "ccomp" for c in verb.children)


def _quote(doc: Doc) -> AnswerType:
    """A quote question; strict when it names who spoke ("What did Ishiba say?")."""
    for token in doc:
        if token.lemma_.lower() in SPEECH and token.pos_ == "VERB":
            subject = subject_of(token)
            if subject is not None and _names_someone(subject):
                speaker = doc[subject.left_edge.i : subject.i + 1].text
                return replace(QUOTE, strict=True, speaker=speaker, missing=f"what {speaker} said")
    return QUOTE


# "Is X mentioned?", "any reference to X?", "Did X come up?", "Does X feature?": asked of the documents.
_MENTIONING = frozenset("mention reference refer feature appear".split())
_PHRASAL = frozenset("come bring".split())  # with "up"
# Words that are not what a mention question asks about ("Does *the article* mention *anything*...?").
_NOT_TOPICS = frozenset(
    "article document text piece report story source documents anything something part bit word".split()
)


def _mentioning(token: Token) -> bool:
    """A word of mentioning that the question is built on ("...when the budgets *came up*" sets a scene)."""
    lemma = token.lemma_.lower()
    up = any(c.dep_ == "prt" and c.lower_ == "up" for c in token.children)
    return (lemma in _MENTIONING or (lemma in _PHRASAL and up)) and token.dep_ not in _CLAUSES


def _mention_topics(doc: Doc) -> tuple[str, ...]:
    """What a question asks whether the documents mention: the noun phrases around its verb (or noun) of
    mentioning ("any mention *of chips*", "Is *Abe* mentioned", "did *canada* come up"); () if it is no
    such question."""
    if not any(_mentioning(t) for t in doc):
        return ()
    topics = []
    for token in doc:
        lemma = token.lemma_.lower()
        if token.pos_ not in ("NOUN", "PROPN") or lemma in _NOT_TOPICS or lemma in _MENTIONING:
            continue
        head = token.head.lemma_.lower()
        if token.dep_ in ("compound", "amod") and head not in _MENTIONING:
            continue  # part of a longer phrase, taken with its head ("outer *space* feature": its own)
        if token.dep_ not in ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "conj", "appos", "compound"):
            continue
        first = min([token.i, *(c.i for c in token.children if c.dep_ in ("compound", "amod"))])
        topics.append(doc[first : token.i + 1].text)
    return tuple(dict.fromkeys(topics))


def _thing(verb: Token) -> str:
    """The lemma of the common noun a verb's object phrase is about ("bring *a gift*", "turn down trumps
    cost sharing *demand*": a sloppy question parses no better), or "" when it has none."""
    for child in verb.children:
        if child.dep_ == "dobj":
            nouns = [t for t in child.subtree if t.pos_ == "NOUN"]
            return (nouns[-1] if nouns else child).lemma_.lower()
    return ""


def _events(doc: Doc) -> tuple[tuple[str, str], ...]:
    """What a why-question says happened: its main verb and the verbs it runs on into, each with its direct
    object ("why did Ishiba *turn down* the *demand*", "why do they keep *negotiating*"), not the verbs of
    its subordinate clauses ("...where forces *are positioned*")."""
    todo = [t for t in doc if t.dep_ == "ROOT"]
    found = []
    while todo:
        token = todo.pop()
        if token.pos_ == "VERB":
            found.append((token.lemma_.lower(), _thing(token)))
        todo += [c for c in token.children if c.dep_ in ("xcomp", "conj") and c.pos_ == "VERB"]
    return tuple(found)


# Japanese question words (a closed class, like the English wh-words above), by Sudachi's word: the first in
# the question decides. 何 asks for a date before 日, 月, 年; どの and どこの for a country before 国.
_JAPANESE_WH: dict[str, AnswerType] = {
    "なぜ": REASON,
    "何故": REASON,
    "どうして": REASON,
    "誰": PERSON,
    "だれ": PERSON,
    "どなた": PERSON,
    "いつ": DATE,
    "何日": DATE,
    "何月": DATE,
    "何年": DATE,
    "どこ": WHERE,
    "いくら": AMOUNT,
    "いくつ": AMOUNT,
    "何人": AMOUNT,
    "くらい": AMOUNT,
    "ぐらい": AMOUNT,
    "名前": NAMED,
}


def japanese_answer_type(question: str, analyser: JapaneseAnalyser = ANALYSER) -> AnswerType:
    """The answer type of a question in Japanese, from its question word."""
    words = [unit.text for word in analyser.words(question) for unit in (word.parts or (word,))]
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        if word in ("どの", "どこ") and after in ("国", "の") and "国" in words[i + 1 : i + 3]:
            return replace(COUNTRY, japanese=True)
        if word == "何" and after[:1] in ("日", "月", "年"):
            return replace(DATE, japanese=True)
        if word in _JAPANESE_WH:
            return replace(_JAPANESE_WH[word], japanese=True)
    return replace(OPEN, japanese=True)


def answer_type(doc: Doc) -> AnswerType:
    """The answer type of a parsed question."""
    if has_japanese(doc.text):
        return japanese_answer_type(doc.text)
    words = [t.lower_ for t in doc]
    lemmas = {t.lemma_.lower() for t in doc}
    if words and words[0] == "why":  # "Why do they keep negotiating where forces are positioned?"
        return replace(REASON, events=_events(doc))
    for t in doc:
        word = t.lower_
        nxt = words[t.i + 1] if t.i + 1 < len(words) else ""
        if t.i > 0 and t.head.dep_ in _CLAUSES:  # "How did he describe Ishiba *when they met*?"
            continue
        if word == "how" and nxt in _MEASURES:
            return AMOUNT
        if word == "when":
            return DATE
        if word == "where":
            return WHERE
        if word in ("who", "whom", "whose"):
            return PERSON
        if word in ("which", "what", "names") or (word == "name" and t.i == 0):
            noun = _asked_noun(doc, t)
            if noun is not None:
                lemma = noun.lemma_.lower()
                for kind, nouns in _HEAD_NOUNS.items():
                    if lemma in nouns:
                        found = NAMED if kind is PERSON and word in ("name", "names") else kind
                        return replace(found, described=_description(noun))
                if word == "which" and noun.tag_ in ("NNS", "NNPS"):
                    return LIST
            if word in ("name", "names"):
                return LIST
            # "What did X say?": the wh-phrase is what is said; not in "what outcome does X say the new era
            # is meant to secure?", where the saying verb's clause ("is meant to...") holds the question
            said = (noun or t).head
            if word == "what" and said.lemma_.lower() in _SAYING and not _says_a_clause(said):
                return _quote(doc)
    topics = _mention_topics(doc)
    if topics:
        return replace(MENTION, topics=topics, missing=f"anything about {' or '.join(topics)}")
    if lemmas & {"quote"}:
        return QUOTE
    if "why" in words:
        return replace(REASON, events=_events(doc))
    if words and words[0] in _AUXILIARIES:
        return YESNO
    return OPEN
