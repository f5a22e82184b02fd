"""The demo data set behind `manage.py seed_demo` (and the benchmarks' own data).

Two brands (a fashion brand and a beauty brand, so tenant isolation shows), five stores
each in real Chinese cities, staff in every role, a catalog, members and 30 days of orders.

This is a seed, not a use case: rows are written in bulk (PostgreSQL COPY, batched
INSERTs on SQLite) without domain events or audit rows, and every value is generated so that it
is consistent by construction. Member phones and names still go through `members.pii`
(encrypted, blind-indexed, masked): no phone number is ever stored in clear.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, models, transaction
from django.dispatch import Signal

from members import pii
from members.choices import MemberSource
from members.models import Member

from . import services
from .choices import API_SCOPES, Channel, OrderStatus, Role, StoreStatus
from .models import (
    ApiClient,
    ApiToken,
    Brand,
    Order,
    OrderLine,
    PartnerUser,
    Product,
    StaffRole,
    Store,
    StoreStock,
)

User = get_user_model()

DEMO_PASSWORD = "tiandi-demo"
ADMIN_USERNAME = "admin"
DEMO_CLIENT_NAME = "Demo partner (seed_demo)"
CREDENTIALS_FILE: Path = settings.VAR_DIR / "demo_credentials.json"
DEFAULT_MEMBERS = 2_000
DEFAULT_ORDERS = 20_000
PRODUCTS_PER_BRAND = 200
GUIDES_PER_STORE = 3
ORDER_DAYS = 30
BIG_SEED = 200_000  # members + orders per brand from which indexes are rebuilt after the load
CHUNK = 50_000  # orders per generated batch (one COPY stream or a few INSERT batches)


# --- what the demo brands look like -------------------------------------------------------


@dataclass(frozen=True)
class StoreSpec:
    code: str
    name: str
    city: str
    address: str
    latitude: str
    longitude: str


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    noun: str  # the Chinese word used in product names
    min_price: int  # yuan
    max_price: int


@dataclass(frozen=True)
class BrandSpec:
    slug: str
    name: str
    sku_prefix: str
    phone_prefix: str  # three digits; member i gets a number derived from i under it
    categories: tuple[CategorySpec, ...]
    styles: tuple[str, ...]
    stores: tuple[StoreSpec, ...]


FASHION = BrandSpec(
    slug="yunshang",
    name="云裳 Yunshang",
    sku_prefix="YS",
    phone_prefix="139",
    categories=(
        CategorySpec("dresses", "连衣裙", 399, 1599),
        CategorySpec("shirts", "衬衫", 199, 699),
        CategorySpec("knitwear", "针织衫", 299, 999),
        CategorySpec("coats", "大衣", 899, 2999),
        CategorySpec("trousers", "休闲裤", 259, 799),
        CategorySpec("accessories", "丝巾", 99, 499),
    ),
    styles=("真丝", "羊绒", "亚麻", "法式", "通勤", "复古", "简约", "印花", "廓形", "修身"),
    stores=(
        StoreSpec(
            "SH01", "上海南京西路店", "上海", "上海市静安区南京西路1266号恒隆广场", "31.229800", "121.453500"
        ),
        StoreSpec(
            "BJ01", "北京三里屯店", "北京", "北京市朝阳区三里屯路19号太古里南区", "39.936700", "116.454500"
        ),
        StoreSpec("GZ01", "广州天河路店", "广州", "广州市天河区天河路383号太古汇", "23.134500", "113.332600"),
        StoreSpec(
            "SZ01", "深圳万象城店", "深圳", "深圳市罗湖区宝安南路1881号华润万象城", "22.540500", "114.111500"
        ),
        StoreSpec(
            "CD01", "成都春熙路店", "成都", "成都市锦江区中纱帽街8号远洋太古里", "30.653900", "104.083400"
        ),
    ),
)

BEAUTY = BrandSpec(
    slug="qingyan",
    name="青妍 Qingyan",
    sku_prefix="QY",
    phone_prefix="186",
    categories=(
        CategorySpec("skincare", "精华液", 199, 899),
        CategorySpec("cream", "面霜", 159, 1299),
        CategorySpec("makeup", "口红", 99, 399),
        CategorySpec("masks", "面膜", 69, 299),
        CategorySpec("fragrance", "香水", 299, 1199),
        CategorySpec("bodycare", "身体乳", 79, 259),
    ),
    styles=("玻尿酸", "烟酰胺", "山茶花", "白茶", "玫瑰", "积雪草", "雪松", "柔雾", "水光", "修护"),
    stores=(
        StoreSpec(
            "HZ01", "杭州湖滨店", "杭州", "杭州市上城区延安路258号湖滨银泰in77", "30.256200", "120.165000"
        ),
        StoreSpec("NJ01", "南京新街口店", "南京", "南京市秦淮区中山路1号德基广场", "32.044000", "118.784500"),
        StoreSpec(
            "WH01", "武汉楚河汉街店", "武汉", "武汉市武昌区楚河汉街万达广场", "30.556400", "114.337000"
        ),
        StoreSpec(
            "XA01",
            "西安小寨店",
            "西安",
            "西安市雁塔区长安中路123号赛格国际购物中心",
            "34.223500",
            "108.947100",
        ),
        StoreSpec(
            "SH02", "上海陆家嘴店", "上海", "上海市浦东新区世纪大道8号国金中心商场", "31.236300", "121.501800"
        ),
    ),
)

DEMO_BRANDS: tuple[BrandSpec, ...] = (FASHION, BEAUTY)

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
_GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰萍红梅琳雪婷欣怡晨宇浩然子涵梓萱佳琪思雨"


def demo_phone(spec: BrandSpec, index: int) -> str:
    """The mobile number of the brand's index-th demo member (a bijection on 8 digits)."""
    return f"{spec.phone_prefix}{(index * 7919 + 12345) % 100_000_000:08d}"


def demo_name(index: int) -> str:
    surname = _SURNAMES[index % len(_SURNAMES)]
    given = _GIVEN[(index * 7) % len(_GIVEN)]
    if index % 3:
        given += _GIVEN[(index * 13 + 5) % len(_GIVEN)]
    return surname + given


def store_usernames(spec: BrandSpec, store: StoreSpec) -> tuple[str, list[str]]:
    prefix = f"{spec.slug}-{store.code.lower()}"
    return f"{prefix}-manager", [f"{prefix}-guide{n}" for n in range(1, GUIDES_PER_STORE + 1)]


def hq_username(spec: BrandSpec) -> str:
    return f"{spec.slug}-hq"


def partner_username(spec: BrandSpec) -> str:
    return f"{spec.slug}-partner"


# --- results ----------------------------------------------------------------------------------


@dataclass
class BrandLogins:
    spec: BrandSpec
    brand: Brand
    created: bool
    counts: dict[str, int]
    hq: str
    managers: list[str]
    guides: list[str]
    token: str
    token_note: str = ""
    partner: str = ""  # the demo partner's admin login (its console at /partner/)


@dataclass
class SeedResult:
    brands: list[BrandLogins] = field(default_factory=list)
    admin_created: bool = False
    seconds: float = 0.0


@dataclass
class SeededBrand:
    """What seeding one brand made, for callers (the benchmarks) that drive it further."""

    brand: Brand
    store_ids: list[int]
    guides_by_store: dict[int, list[int]]
    products: list[tuple[int, str, str, int]]  # id, sku, name, price in cents
    member_count: int
    order_count: int


# --- entry point ------------------------------------------------------------------------------


def seed_demo(
    *,
    members: int = DEFAULT_MEMBERS,
    orders: int = DEFAULT_ORDERS,
    reset: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
    credentials_file: Path | None = None,
) -> SeedResult:
    """Create (or find) the demo brands, the admin superuser and the demo partner tokens."""
    started = time.perf_counter()
    credentials_file = credentials_file or CREDENTIALS_FILE
    every_db = _load_credentials(credentials_file)
    # One entry per database, so a PostgreSQL seed and the embedded SQLite one keep their own.
    saved = every_db.setdefault(f"{connection.vendor}:{connection.settings_dict['NAME']}", {})
    password_hash = make_password(DEMO_PASSWORD)  # one PBKDF2 run, shared by every demo login
    result = SeedResult(admin_created=_ensure_admin(password_hash))
    # Everything in one transaction: an interrupted seed leaves nothing behind. A big seed on
    # PostgreSQL builds the secondary indexes of the big tables once, after the load.
    existing = {b.slug: b for b in Brand.objects.filter(slug__in=[spec.slug for spec in DEMO_BRANDS])}
    to_seed = {
        spec.slug
        for spec in DEMO_BRANDS
        if reset or spec.slug not in existing or not _is_complete(existing[spec.slug])
    }
    big = bool(to_seed) and members + orders >= BIG_SEED
    with transaction.atomic(), _bulk_session(), _indexes_built_after(REBUILT_AFTER, enabled=big, log=log):
        for spec in DEMO_BRANDS:
            brand = existing.get(spec.slug)
            if brand is not None and spec.slug in to_seed:
                log(
                    f"{spec.name}: wiping the demo brand …"
                    if reset
                    else f"{spec.name}: incomplete; seeding it again."
                )
                t0 = time.perf_counter()
                wipe_brand(brand, usernames=brand_usernames(spec))
                log(f"{spec.name}: wiped in {time.perf_counter() - t0:.1f}s")
                brand = None
                saved.pop(spec.slug, None)
            created = brand is None
            if created:
                log(f"{spec.name}: seeding {members:,} members and {orders:,} orders …")
                t0 = time.perf_counter()
                brand = seed_brand(
                    spec, members=members, orders=orders, password_hash=password_hash, log=log, tiers=True
                ).brand
                brand_seeded.send(sender=Brand, brand=brand, log=log)
                log(f"{spec.name}: seeded in {time.perf_counter() - t0:.1f}s")
            token, note = _demo_token(brand, saved.get(spec.slug))
            partner = _demo_partner_login(brand, partner_username(spec), password_hash)
            saved[spec.slug] = {"token": token, "brand": spec.name}
            managers, guides = [], []
            for store in spec.stores:
                manager, store_guides = store_usernames(spec, store)
                managers.append(manager)
                guides.extend(store_guides)
            result.brands.append(
                BrandLogins(
                    spec=spec,
                    brand=brand,
                    created=created,
                    counts=_counts(brand),
                    hq=hq_username(spec),
                    managers=managers,
                    guides=guides,
                    token=token,
                    token_note=note,
                    partner=partner,
                )
            )
    if big:
        t0 = time.perf_counter()
        _analyze(BULK_MODELS)
        log(f"analyze: {time.perf_counter() - t0:.1f}s")
    for entry in result.brands:
        if entry.created:  # member profiles (RFM, LTV, categories) of the seeded history
            from members.services.profiles import compute_profiles

            t0 = time.perf_counter()
            compute_profiles(brand_id=entry.brand.pk)
            log(f"{entry.spec.name}: member profiles in {time.perf_counter() - t0:.1f}s")
    _save_credentials(credentials_file, every_db)
    result.seconds = time.perf_counter() - started
    return result


def brand_usernames(spec: BrandSpec) -> list[str]:
    """Every demo login of a brand (HQ, managers, guides): what wiping the brand removes."""
    names = [hq_username(spec), partner_username(spec)]
    for store in spec.stores:
        manager, guides = store_usernames(spec, store)
        names += [manager, *guides]
    return names


def _ensure_admin(password_hash: str) -> bool:
    if User.objects.filter(username=ADMIN_USERNAME).exists():
        return False
    User.objects.create(
        username=ADMIN_USERNAME,
        email="admin@example.com",
        password=password_hash,
        is_staff=True,
        is_superuser=True,
    )
    return True


def _is_complete(brand: Brand) -> bool:
    # The demo partner is created last, after every row of the brand is in.
    return ApiClient.objects.filter(brand=brand, name=DEMO_CLIENT_NAME).exists()


def _counts(brand: Brand) -> dict[str, int]:
    return {
        "stores": Store.objects.filter(brand=brand).count(),
        "products": Product.objects.filter(brand=brand).count(),
        "members": Member.objects.filter(brand=brand).count(),
        "orders": Order.objects.filter(brand=brand).count(),
    }


# --- partner tokens: hashed in the database, kept in clear only in var/ ------------------------


def _demo_token(brand: Brand, saved: dict | None) -> tuple[str, str]:
    """The brand's demo token: the saved one if it still works, else a freshly issued one."""
    client = ApiClient.objects.filter(brand=brand, name=DEMO_CLIENT_NAME).first()
    if client is None:
        client = services.create_api_client(brand=brand, name=DEMO_CLIENT_NAME, scopes=list(API_SCOPES))
    raw = (saved or {}).get("token", "")
    parts = raw.split("_", 2)
    if len(parts) == 3:
        live = ApiToken.objects.filter(
            client=client, prefix=parts[1], token_hash=services.hash_token(raw), revoked_at__isnull=True
        ).exists()
        if live:
            return raw, ""
    first = not client.tokens.exists()
    _, raw = services.issue_api_token(client=client)
    if first:
        return raw, ""
    return raw, "the saved clear token was missing or revoked, so a fresh demo token was issued"


def _demo_partner_login(brand: Brand, username: str, password_hash: str) -> str:
    """The demo partner's admin login (the demo password): what a partner's person sees on
    its console. Made once; a seed, so without the one-time password and audit of
    retail.console.add_partner_user."""
    client = ApiClient.objects.get(brand=brand, name=DEMO_CLIENT_NAME)
    if not PartnerUser.objects.filter(client=client, user__username=username).exists():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, password=password_hash)
        PartnerUser.objects.create(brand=brand, client=client, user=user, access=PartnerUser.Access.ADMIN)
    return username


def _load_credentials(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_credentials(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# --- wiping -------------------------------------------------------------------------------------


# Apps above the core own rows of a demo brand too (devices, screens, scans ...). They connect
# in their AppConfig.ready(): `brand_wiping` to delete theirs before the core's rows go,
# `brand_seeded` to add demo data of their own to a freshly seeded demo brand.
brand_wiping = Signal()  # kwargs: brand
brand_seeded = Signal()  # kwargs: brand, log


def wipe_brand(brand: Brand, *, usernames: Iterable[str] = ()) -> None:
    """Delete a brand and everything it owns. The big tables go first with plain DELETEs
    (Django's collector would load millions of ids); the ORM then removes the rest."""
    from members.models import (
        ConsentRecord,
        MemberImport,
        MemberImportError,
        MemberProfile,
        MemberTag,
        PointsEntry,
        ProfileRun,
        Segment,
        SegmentMember,
        Tag,
        Tier,
    )

    member_rows = (SegmentMember, MemberTag, MemberProfile, PointsEntry, ConsentRecord)
    brand_rows = (Segment, Tag, ProfileRun)
    with transaction.atomic():
        brand_wiping.send(sender=Brand, brand=brand)
        StoreStock.objects.filter(brand=brand).delete()
        MemberImportError.objects.filter(member_import__brand=brand).delete()
        MemberImport.objects.filter(brand=brand).delete()
        with connection.cursor() as cursor:
            for model in (*member_rows, OrderLine, Order, Member, *brand_rows, Tier):
                try:
                    with transaction.atomic():
                        cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE brand_id = %s", [brand.pk])
                except DatabaseError:  # something else still points at these rows
                    model.objects.filter(brand=brand).delete()
        StaffRole.objects.filter(brand=brand).delete()
        Product.objects.filter(brand=brand).delete()
        Store.objects.filter(brand=brand).delete()
        brand.delete()
        User.objects.filter(username__in=list(usernames), is_superuser=False).delete()


# --- seeding one brand --------------------------------------------------------------------------


def seed_brand(
    spec: BrandSpec,
    *,
    members: int,
    orders: int,
    password_hash: str | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    seed: int | None = None,
    tiers: bool = False,
) -> SeededBrand:
    """Write one brand with its stores, staff, catalog, members and orders, then mark it
    complete by creating its demo partner client. One transaction: all or nothing."""
    rnd = random.Random(seed if seed is not None else spec.slug)
    password_hash = password_hash or make_password(DEMO_PASSWORD)
    with transaction.atomic(), _bulk_session():
        brand = Brand.objects.create(name=spec.name, slug=spec.slug)
        store_ids, guides_by_store = _seed_places_and_staff(spec, brand, password_hash)
        products = _seed_products(spec, brand, rnd)
        now = datetime.now(UTC).replace(microsecond=0)
        t0 = time.perf_counter()
        first_member = _seed_members(spec, brand, members, store_ids, guides_by_store, rnd, now)
        if members:
            log(f"  members: {members:,} in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        _seed_orders(brand, orders, store_ids, guides_by_store, products, first_member, members, rnd, now)
        if orders:
            log(f"  orders: {orders:,} in {time.perf_counter() - t0:.1f}s")
        if tiers:
            t0 = time.perf_counter()
            _seed_tiers_and_points(brand)
            log(f"  tiers and points: {time.perf_counter() - t0:.1f}s")
        services.create_api_client(brand=brand, name=DEMO_CLIENT_NAME, scopes=list(API_SCOPES))
    return SeededBrand(
        brand=brand,
        store_ids=store_ids,
        guides_by_store=guides_by_store,
        products=products,
        member_count=members,
        order_count=orders,
    )


def _seed_places_and_staff(
    spec: BrandSpec, brand: Brand, password_hash: str
) -> tuple[list[int], dict[int, list[int]]]:
    stores = Store.objects.bulk_create(
        [
            Store(
                brand=brand,
                code=s.code,
                name=s.name,
                city=s.city,
                address=s.address,
                latitude=Decimal(s.latitude),
                longitude=Decimal(s.longitude),
                status=StoreStatus.LIVE,
            )
            for s in spec.stores
        ]
    )
    stores = list(Store.objects.filter(brand=brand).order_by("code"))
    by_code = {s.code: s for s in stores}
    roles: list[StaffRole] = [
        StaffRole(user=_user(hq_username(spec), password_hash), brand=brand, role=Role.HQ_ADMIN)
    ]
    guides_by_store: dict[int, list[int]] = {}
    for s in spec.stores:
        store = by_code[s.code]
        manager, guides = store_usernames(spec, s)
        roles.append(
            StaffRole(user=_user(manager, password_hash), brand=brand, store=store, role=Role.STORE_MANAGER)
        )
        guide_users = [_user(name, password_hash) for name in guides]
        roles += [StaffRole(user=u, brand=brand, store=store, role=Role.GUIDE) for u in guide_users]
        guides_by_store[store.pk] = [u.pk for u in guide_users]
    StaffRole.objects.bulk_create(roles)
    return [by_code[s.code].pk for s in spec.stores], guides_by_store


def _user(username: str, password_hash: str):
    user, _ = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@demo.tiandi.local", "password": password_hash}
    )
    return user


def _seed_products(spec: BrandSpec, brand: Brand, rnd: random.Random) -> list[tuple[int, str, str, int]]:
    rows = []
    for n in range(PRODUCTS_PER_BRAND):
        category = spec.categories[n % len(spec.categories)]
        style = spec.styles[(n // len(spec.categories)) % len(spec.styles)]
        yuan = rnd.randint(category.min_price // 10, category.max_price // 10) * 10 - 1
        rows.append(
            Product(
                brand=brand,
                sku=f"{spec.sku_prefix}-{category.slug[:2].upper()}-{n + 1:04d}",
                name=f"{style}{category.noun} {n + 1:03d}",
                category=category.slug,
                price=Decimal(yuan),
                online_stock=rnd.randint(0, 500),
            )
        )
    Product.objects.bulk_create(rows)
    return [
        (pk, sku, name, int(price * 100))
        for pk, sku, name, price in Product.objects.filter(brand=brand)
        .order_by("id")
        .values_list("id", "sku", "name", "price")
    ]


_SOURCES = (
    [MemberSource.STORE] * 14
    + [MemberSource.ONLINE] * 3
    + [MemberSource.CLOUD_SHELF] * 2
    + [MemberSource.SAMPLE_DISPENSER]
)


DEMO_TIERS = [  # thresholds spread the default seed's members (¥15k average history) over all four
    ("regular", "普通会员", 0, 1),
    ("silver", "银卡", 8_000, 2),
    ("gold", "金卡", 16_000, 3),
    ("black", "黑金", 30_000, 4),
]


def _seed_tiers_and_points(brand: Brand) -> None:
    """The demo tiers (普通 / 银卡 / 金卡 / 黑金), one `earn` entry per member for the points
    of their seeded paid orders (1 per whole CNY, as orders earn), balances and tiers — all
    set-based. The ledger invariant holds: balance == sum of entries."""
    from members.models import PointsEntry, Tier

    Tier.objects.bulk_create(
        Tier(brand=brand, code=code, name=name, threshold_points=points, rank=rank)
        for code, name, points, rank in DEMO_TIERS
    )
    floor = "FLOOR(SUM(total))" if connection.vendor == "postgresql" else "CAST(SUM(total) AS INTEGER)"
    entries, members_t, orders_t = PointsEntry._meta.db_table, Member._meta.db_table, Order._meta.db_table
    tiers_t = Tier._meta.db_table
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entries} (brand_id, member_id, kind, points, balance_after, reason, actor_label,"
            f" created_at) SELECT brand_id, member_id, 'earn', p, p, 'seeded order history', '', %s"
            f" FROM (SELECT brand_id, member_id, {floor} AS p FROM {orders_t}"
            f" WHERE brand_id = %s AND member_id IS NOT NULL AND status = %s GROUP BY brand_id, member_id) AS t"
            f" WHERE p > 0",
            [now, brand.pk, OrderStatus.PAID],
        )
        cursor.execute(
            f"UPDATE {members_t} SET points_balance = e.points, lifetime_points = e.points"
            f" FROM {entries} AS e WHERE e.member_id = {members_t}.id AND e.brand_id = %s"
            f" AND {members_t}.brand_id = %s",
            [brand.pk, brand.pk],
        )
        cursor.execute(
            f"UPDATE {members_t} SET tier_id = (SELECT t.id FROM {tiers_t} AS t WHERE t.brand_id = %s"
            f" AND t.threshold_points <= {members_t}.lifetime_points ORDER BY t.rank DESC LIMIT 1)"
            f" WHERE brand_id = %s",
            [brand.pk, brand.pk],
        )


def _seed_members(spec, brand, count, store_ids, guides_by_store, rnd, now) -> int:
    """Members with encrypted phones and names, recruited by store and guide; the first id."""
    if not count:
        return 0
    columns = [
        "id",
        "brand_id",
        "member_no",
        "phone_encrypted",
        "phone_hash",
        "phone_masked",
        "name_encrypted",
        "name_masked",
        "name_hash",
        "consent_call",
        "consent_sms",
        "consent_chat",
        "source",
        "store_id",
        "guide_id",
        "joined_at",
        "created_at",
        "updated_at",
    ]
    writer = _writer(Member, columns)
    first = writer.reserve_ids(count)
    r = rnd.random
    brand_id = brand.pk
    two_years = 730 * 86400
    guides = [guides_by_store[s] for s in store_ids]
    n_stores = len(store_ids)

    def rows() -> Iterator[tuple]:
        i = 0
        for batch in _identities(spec, count):
            for identity in batch:
                k = int(r() * n_stores)
                joined = now - timedelta(seconds=int(r() * r() * two_years))  # more recent joins
                yield (
                    first + i,
                    brand_id,
                    f"M{i + 1:08d}",
                    *identity,
                    r() < 0.7,
                    r() < 0.85,
                    r() < 0.6,
                    _SOURCES[int(r() * 20)],
                    store_ids[k],
                    guides[k][int(r() * len(guides[k]))] if r() < 0.85 else None,
                    joined,
                    joined,
                    joined,
                )
                i += 1

    writer.write(rows())
    writer.finish()
    return first


IDENTITY_BATCH = 20_000
PARALLEL_FROM = 100_000  # members from which encryption runs in worker processes


def _identities(spec: BrandSpec, count: int) -> Iterator[list[tuple]]:
    """Batches of (phone_encrypted, phone_hash, phone_masked, name_encrypted, name_masked, name_hash)
    for members 0..count-1, in order. Fernet costs ~7 µs a value, so a big seed spreads the
    encryption over worker processes while this one feeds the database."""
    ranges = [(spec, start, min(count, start + IDENTITY_BATCH)) for start in range(0, count, IDENTITY_BATCH)]
    workers = min(4, os.cpu_count() or 1)
    if count < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(_identity_batch, ranges)
        return
    # fork: the workers inherit configured settings (the PII keys) and never touch the database.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(_identity_batch, ranges)


def _identity_batch(job: tuple[BrandSpec, int, int]) -> list[tuple]:
    spec, start, stop = job
    encrypt, index, mask_phone, mask_name = pii.encrypt, pii.blind_index, pii.mask_phone, pii.mask_name
    name_index = pii.name_index
    out = []
    for i in range(start, stop):
        phone, name = demo_phone(spec, i), demo_name(i)
        out.append(
            (
                encrypt(phone),
                index(phone),
                mask_phone(phone),
                encrypt(name),
                mask_name(name),
                name_index(name),
            )
        )
    return out


_CHANNELS = [Channel.STORE] * 12 + [Channel.ONLINE] * 5 + [Channel.CLOUD_SHELF] * 3
_GUIDE_SHARE = {Channel.STORE: 0.7, Channel.CLOUD_SHELF: 0.4, Channel.ONLINE: 0.2}
_LINE_COUNTS = [1] * 45 + [2] * 30 + [3] * 15 + [4] * 10
_QUANTITIES = [1] * 16 + [2] * 3 + [3]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _seed_orders(
    brand, count, store_ids, guides_by_store, products, first_member, n_members, rnd, now
) -> None:
    """Orders over the last 30 days with 1–4 lines each, channel and attribution mixed."""
    if not count:
        return
    orders = _writer(
        Order,
        [
            "id",
            "brand_id",
            "external_id",
            "channel",
            "status",
            "store_id",
            "member_id",
            "guide_id",
            "subtotal",
            "discount_total",
            "total",
            "paid_at",
            "created_at",
        ],
    )
    lines = _writer(
        OrderLine,
        ["id", "brand_id", "order_id", "product_id", "sku", "name", "quantity", "unit_price", "line_total"],
    )
    first_order = orders.reserve_ids(count)
    # Lines: reserve a generous block (at most 4 per order); the sequence ends at the last used.
    next_line = lines.reserve_ids(count * 4)
    r = rnd.random
    sample = rnd.sample
    brand_id = brand.pk
    window = ORDER_DAYS * 86400
    start_at = now - timedelta(seconds=window)
    step = window / count
    n_stores = len(store_ids)
    guides = {s: guides_by_store[s] for s in store_ids}
    paid, refunded = OrderStatus.PAID, OrderStatus.REFUNDED
    line_products = [(pid, sku, name, cents, _money(cents)) for pid, sku, name, cents in products]
    for start in range(0, count, CHUNK):
        order_rows: list[tuple] = []
        line_rows: list[tuple] = []
        for n in range(start, min(count, start + CHUNK)):
            order_id = first_order + n
            channel = _CHANNELS[int(r() * 20)]
            store_id = store_ids[int(r() * n_stores)] if channel != Channel.ONLINE or r() < 0.3 else None
            guide_id = None
            if store_id is not None and r() < _GUIDE_SHARE[channel]:
                g = guides[store_id]
                guide_id = g[int(r() * len(g))]
            member_id = first_member + int(r() * n_members) if n_members and r() < 0.8 else None
            subtotal = 0
            for pid, sku, name, cents, price in sample(line_products, _LINE_COUNTS[int(r() * 100)]):
                quantity = _QUANTITIES[int(r() * 20)]
                line_cents = cents * quantity
                subtotal += line_cents
                line_rows.append(
                    (next_line, brand_id, order_id, pid, sku, name, quantity, price, _money(line_cents))
                )
                next_line += 1
            discount = subtotal * (5 * int(r() * 5)) // 100 // 100 * 100 if r() < 0.15 else 0
            # ascending with the id, as a real ledger fills, a few seconds of jitter apart
            paid_at = start_at + timedelta(seconds=int(n * step + r() * step))
            order_rows.append(
                (
                    order_id,
                    brand_id,
                    f"D{n + 1:09d}",
                    channel,
                    refunded if r() < 0.02 else paid,
                    store_id,
                    member_id,
                    guide_id,
                    _money(subtotal),
                    _money(discount),
                    _money(subtotal - discount),
                    paid_at,
                    paid_at,
                )
            )
        orders.write(order_rows)
        lines.write(line_rows)
    orders.finish()
    lines.finish(last_id=next_line - 1)


# --- bulk writers: COPY on PostgreSQL, batched INSERTs elsewhere ---------------------------------


@contextmanager
def _bulk_session():
    """On PostgreSQL, skip the synchronous commit flush and, where the role may, the
    per-row foreign-key triggers: seeded rows are consistent by construction. Call it inside
    a transaction; the triggers come back on when the block ends."""
    replica = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SHOW session_replication_role")
            if cursor.fetchone()[0] != "replica":  # else an outer block already did it
                try:
                    with transaction.atomic():
                        cursor.execute("SET LOCAL session_replication_role = replica")
                    replica = True
                except DatabaseError:  # not a superuser: keep the triggers, it is only slower
                    pass
    yield
    if replica:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


BULK_MODELS = (Member, Order, OrderLine)
# Tables whose plain indexes are rebuilt after a big load. Not members: their load waits
# on encryption, so the database keeps their indexes up meanwhile at no extra wall time.
REBUILT_AFTER = (Order, OrderLine)


@contextmanager
def _indexes_built_after(
    tables: Sequence[type[models.Model]],
    *,
    enabled: bool,
    log: Callable[[str], None] = lambda _m: None,
):
    """Drop the plain (non-unique, non-constraint) indexes of `tables` for the load and build
    them again at the end, as PostgreSQL's "Populating a Database" advises: one sorted build
    costs far less than millions of index inserts. Inside the caller's transaction, so a
    failure restores them; the tables stay locked meanwhile (it is a seed)."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    dropped: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(
                """
                SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                """,
                [model._meta.db_table],
            )
            found = cursor.fetchall()
            for name, _definition in found:
                cursor.execute(f'DROP INDEX "{name}"')
            dropped += found
    yield
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, definition in dropped:
            cursor.execute(definition)
    log(f"indexes: {len(dropped)} rebuilt in {time.perf_counter() - t0:.1f}s")


def _analyze(bulk_models: Sequence[type[models.Model]]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics for the planner
            for model in bulk_models:
                cursor.execute(f"ANALYZE {model._meta.db_table}")


class _Writer:
    """Writes row tuples for `columns` (attnames) of a model; other fields get defaults."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]):
        self.model = model
        self.table = model._meta.db_table
        fields = {f.attname: f for f in model._meta.concrete_fields}
        self.columns = list(columns)
        self.extra: dict[str, object] = {}
        for attname, f in fields.items():
            if attname in self.columns:
                continue
            if not f.has_default() and not f.null and not getattr(f, "db_default", None):
                raise RuntimeError(f"seed_demo does not fill {self.table}.{attname}; update retail/demo.py")
            self.extra[attname] = f.get_default()
        self.fields = [fields[c] for c in self.columns]
        self.last_id = 0

    def reserve_ids(self, count: int) -> int:
        """A block of `count` ids nobody else will take (the table is locked for writes)."""
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")
                cursor.execute(
                    f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {self.table}), "
                    f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {self._sequence(cursor)}))"
                )
            else:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")
            first = cursor.fetchone()[0] + 1
        self.last_id = first + count - 1
        return first

    def _sequence(self, cursor) -> str:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.table])
        return cursor.fetchone()[0]

    def write(self, rows: Iterable[tuple]) -> None:
        if connection.vendor == "postgresql":
            self._copy(rows)
        else:
            self._insert_many(rows)

    def _copy(self, rows: Iterable[tuple]) -> None:
        column_of = {f.attname: f.column for f in self.model._meta.concrete_fields}
        columns = ", ".join(f'"{column_of[n]}"' for n in [*self.columns, *self.extra])
        extra = tuple(self._pg_value(v) for v in self.extra.values())
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:  # the psycopg 3 cursor underneath Django's
            with cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                if extra:
                    for row in rows:
                        write_row(row + extra)
                else:
                    for row in rows:
                        write_row(row)

    @staticmethod
    def _pg_value(value):
        return json.dumps(value) if isinstance(value, dict | list) else value

    def _insert_many(self, rows: Iterable[tuple]) -> None:
        # Batched multi-row INSERTs through the DB-API: bulk_create's per-field preparation
        # costs more than the insert itself, and `make run` seeds on every fresh machine.
        names = [*self.columns, *self.extra]
        column_of = {f.attname: f.column for f in self.model._meta.concrete_fields}
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            self.table, ", ".join(f'"{column_of[n]}"' for n in names), ", ".join(["%s"] * len(names))
        )
        stamps = [i for i, f in enumerate(self.fields) if isinstance(f, models.DateTimeField)]
        extra = tuple(
            f.get_db_prep_save(v, connection)
            for f, v in zip(
                [self.model._meta.get_field(n) for n in self.extra], self.extra.values(), strict=True
            )
        )
        batch: list[tuple] = []
        with connection.cursor() as cursor:
            for row in rows:
                row = list(row)
                for i in stamps:  # generated stamps are UTC already; SQLite stores them naive
                    row[i] = str(row[i].replace(tzinfo=None))
                batch.append((*row, *extra))
                if len(batch) >= 5_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)

    def finish(self, last_id: int | None = None) -> None:
        """Move the id sequence past the rows written, so later inserts do not collide."""
        if connection.vendor != "postgresql":
            return  # SQLite continues after MAX(id) by itself
        last = last_id if last_id is not None else self.last_id
        with connection.cursor() as cursor:
            sequence = self._sequence(cursor)
            cursor.execute(
                f"SELECT setval(%s, GREATEST(%s, (SELECT COALESCE(MAX(id), 1) FROM {self.table})))",
                [sequence, last],
            )


def _writer(model: type[models.Model], columns: Sequence[str]) -> _Writer:
    return _Writer(model, columns)
