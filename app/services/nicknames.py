"""Common given-name nicknames and short forms, folded to ASCII lower case.

Each nickname maps to the canonical full name it stands for; a few (Alex, Chris, Sam…)
stand for several names and map to all of them. Used by duplicate detection only.
"""

from __future__ import annotations

_GROUPS: dict[str, tuple[str, ...]] = {
    # English
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny", "jon"),
    "michael": ("mike", "mick", "mikey"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby"),
    "katherine": ("kate", "katie", "kathy", "kat", "cathy", "catherine", "kathryn"),
    "margaret": ("maggie", "meg", "peggy", "margot"),
    "thomas": ("tom", "tommy"),
    "richard": ("rick", "dick", "richie", "rich"),
    "henry": ("harry", "hank"),
    "charles": ("charlie", "chuck"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "david": ("dave", "davy"),
    "daniel": ("dan", "danny"),
    "matthew": ("matt",),
    "nicholas": ("nick", "nicky", "nico"),
    "anthony": ("tony",),
    "stephen": ("steve", "steven", "stevie"),
    "andrew": ("andy", "drew"),
    "joseph": ("joe", "joey"),
    "patrick": ("pat", "paddy"),
    "benjamin": ("ben", "benny"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammy"),
    "alexander": ("alex", "sasha", "sandy"),
    "alexandra": ("alex", "sasha", "sandy"),
    "christopher": ("chris", "kit"),
    "christine": ("chris", "christina", "tina"),
    "jennifer": ("jen", "jenny"),
    "susan": ("sue", "susie"),
    "deborah": ("deb", "debbie"),
    "rebecca": ("becky", "becca"),
    "victoria": ("vicky", "tori"),
    "jessica": ("jess", "jessie"),
    "olivia": ("liv", "livvy"),
    "amelia": ("millie", "amy"),
    "emily": ("em", "emmy"),
    "george": ("georgie",),
    "oliver": ("ollie", "olly"),
    "frederick": ("fred", "freddie"),
    "lawrence": ("larry",),
    "gregory": ("greg",),
    "timothy": ("tim", "timmy"),
    "jonathan": ("jon", "jonny"),
    "theodore": ("theo", "ted"),
    # French
    "jean-pierre": ("jp",),
    "jean-paul": ("jp",),
    "jean-baptiste": ("jb",),
    "jean-francois": ("jf",),
    "jean-claude": ("jc",),
    "marie-claire": ("mc",),
    "francois": ("fanfan",),
    "dominique": ("dom",),
    "frederic": ("fred",),
    "guillaume": ("guigui",),
    "nicolas": ("nico",),
    "mathieu": ("mat", "matthieu"),
    "matheo": ("mateo",),
    "theo": ("teo",),
    "christophe": ("chris", "kiki"),
    "stephane": ("steph",),
    "stephanie": ("steph", "fanny"),
    "aurelien": ("aurel",),
    "etienne": ("tienne",),
    "raphael": ("raph",),
    "benoit": ("ben",),
    "sebastien": ("seb", "sebas"),
    "maximilien": ("max",),
    "margaux": ("margot", "margaud"),
    # German
    "johannes": ("hans", "jo", "johann", "hannes"),
    "josef": ("sepp", "joseph", "jupp"),
    "friedrich": ("fritz",),
    "wolfgang": ("wolf",),
    "maximilian": ("max", "maxi"),
    "matthias": ("matze", "hias"),
    "tobias": ("tobi",),
    "katharina": ("kathi", "katrin", "katja"),
    "kathe": ("kaethe",),
    "jurgen": ("juergen", "jurg"),
    "gunter": ("guenter", "guenther", "gunther"),
    "soren": ("soeren",),
    "jorg": ("joerg",),
    "bjorn": ("bjoern",),
    "ursula": ("uschi", "ulla"),
    "stefan": ("steffen", "stephan"),
    "heike": ("heiko",),
    "susanne": ("susi", "sanne"),
}

NICKNAMES: dict[str, frozenset[str]] = {}
for _full, _shorts in _GROUPS.items():
    NICKNAMES.setdefault(_full, set()).add(_full)  # type: ignore[arg-type]
    for _short in _shorts:
        NICKNAMES.setdefault(_short, set()).add(_full)  # type: ignore[arg-type]
NICKNAMES = {k: frozenset(v) for k, v in NICKNAMES.items()}


def canonical_names(token: str) -> frozenset[str]:
    """The full names a (folded) given-name token may stand for, itself included."""
    return NICKNAMES.get(token, frozenset((token,)))


def same_given_name(a: str, b: str) -> bool:
    """True when the two folded tokens are the same name or a nickname of each other."""
    if a == b:
        return True
    ca, cb = NICKNAMES.get(a), NICKNAMES.get(b)
    if ca is None and cb is None:
        return False
    return bool((ca or {a}) & (cb or {b}))
