"""The harness's written-back fixtures (tests/replay.py) give a test exactly what a real build gives it."""
from __future__ import annotations

from tuanjian.extensions import db
from tuanjian.models import Org, Person
from tuanjian.services.actor import Actor
from tuanjian.services.orgs import create_root

from . import factories, replay
from .conftest import make_app


def _state(session) -> dict:
    return {name: sorted(rows.items()) for name, rows in replay._dump(session).items()}


def _next_ids(session) -> tuple:
    """The ids the next org and person get (the sequences / SQLite's highest id), then thrown away."""
    org = create_root(session, Actor.system("测试"), name="共青团另一县委员会", code="000.012.016.099")
    person = factories.make_person(session, name="下一个")
    ids = (org.id, person.id)
    session.rollback()
    return ids


def test_a_written_back_tree_equals_a_built_one(db_kind, tmp_path, monkeypatch):
    monkeypatch.setattr(replay, "_recorded", {})
    states, trees = [], []
    for i in range(2):                                   # the first call builds and records, the second writes back
        (tmp_path / str(i)).mkdir()
        app = make_app(db_kind, tmp_path / str(i))
        with app.app_context():
            tree = replay.replayed("tree", db.session, factories.make_tree)
            trees.append({f: (type(v).__name__, v.id) for f, v in vars(tree).items()})
            assert isinstance(tree.county, Org) and isinstance(tree.county_admin, Person)
            assert tree.klass.parent_id == tree.grade.id and tree.county_admin.name == "王县"
            states.append((_state(db.session), _next_ids(db.session)))
            db.session.remove()
    assert ("tree", db_kind) in replay._recorded and replay._recorded[("tree", db_kind)] is not None
    assert trees[0] == trees[1]
    assert states[0] == states[1]


def test_a_build_that_changes_existing_rows_is_written_back_whole(db_kind, tmp_path, monkeypatch):
    """A fixture on top of the tree that adds a branch changes rows already there (org_stats of the ancestors)."""
    from tuanjian.domain.orgtree import OrgKind
    from tuanjian.domain.settings import DEFAULT_SETTINGS
    from tuanjian.services.orgs import create_child
    monkeypatch.setattr(replay, "_recorded", {})

    def build(session, tree):
        branch = create_child(session, Actor.system("测试"), tree.township, short_name="城西村团支部",
                              kind=OrgKind.BRANCH, settings=DEFAULT_SETTINGS)
        factories.make_member(session, branch, name="城西团员")
        session.commit()
        return branch
    states = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        app = make_app(db_kind, tmp_path / str(i))
        with app.app_context():
            tree = replay.replayed("tree", db.session, factories.make_tree)
            branch = replay.replayed("west", db.session, lambda s: build(s, tree))
            assert branch.parent_id == tree.township.id
            states.append(_state(db.session))
            db.session.remove()
    assert replay._recorded[("west", db_kind)].updates, "the build changed no existing row: the test checks nothing"
    assert states[0] == states[1]


def test_another_starting_state_is_built_for_real(db_kind, tmp_path, monkeypatch):
    monkeypatch.setattr(replay, "_recorded", {})
    built = []

    def build(session):
        built.append(1)
        return factories.make_tree(session)
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        app = make_app(db_kind, tmp_path / str(i))
        with app.app_context():
            if i == 1:                                   # a row the recording did not start from
                factories.make_person(db.session, name="先来的")
                db.session.commit()
            replay.replayed("tree", db.session, build)
            db.session.remove()
    assert len(built) == 2
