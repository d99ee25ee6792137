"""`python -m bot demo`: a city tourism bureau's (旅游局) campaign made up in a fresh database, so that a newcomer who
then runs `python -m bot console` sees a full leaderboard, open and overdue tasks, reviews and snapshots at once.

Everything goes through the storage functions the bot itself uses (ratings are opened, filled in and confirmed like
the /rate dialog does, so the score tallies are kept as they would be). A fixed random seed makes the demo the same
every time for the same day. The members' Telegram ids are the ones the console gives their names, so `:user 张伟`
in the console is that member. A database with members (or sections) already is refused: made-up data is never
mixed with real data.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.console import stable_group_id, stable_id
from bot.i18n import translator
from bot.labels import rectification_titles
from bot.workdays import WorkCalendar
from handlers.ranking import board_kind
from handlers.ratings import rating_value
from storage import campaigns, commitments, groups, members, ratings, reviews, sections, snapshots, tasks
from storage.migrate import upgrade_database
from storage.models import (
    Member,
    MemberStatus,
    Period,
    PeriodKind,
    RaterGroup,
    Role,
    Section,
    SectionKind,
    TargetKind,
    Task,
    TaskStatus,
    utc_now,
)
from storage.session import Database

EXIT_NOT_EMPTY = 2
SEED = 2026
ADMIN_NAME = "管理员"
GROUP_TITLE = "双优活动群"
GROUP_CHAT_ID = stable_group_id(GROUP_TITLE)  # what `:group 双优活动群` opens in the console
INTERNAL_TURNOUT = 0.18  # the share of colleagues who rate in a rating period
INDUSTRY_TURNOUT = 0.75
INDUSTRY_SECTIONS = 5  # rated by each industry rater each month
COMMENTED = 0.12  # the share of ratings with a comment
REVIEWS_PER_MONTH = {SectionKind.STATION: 3.0, SectionKind.OFFICE: 1.2}  # the public comes to the stations more
REVIEWER_IDS = 7_000_000_000  # the public's fake Telegram ids start here, far from the console's ids

# name, kind, quality (the mean score it tends to get, 1–5), trend (added per rating period, so ranks move)
SECTIONS: tuple[tuple[str, SectionKind, float, float], ...] = (
    ("办公室", SectionKind.OFFICE, 4.00, 0.00),
    ("行业管理科", SectionKind.OFFICE, 4.15, 0.02),
    ("市场开发科", SectionKind.OFFICE, 3.74, 0.06),
    ("规划发展科", SectionKind.OFFICE, 3.35, -0.02),
    ("质量监督科", SectionKind.OFFICE, 3.22, 0.08),
    ("财务科", SectionKind.OFFICE, 3.61, -0.04),
    ("人事科", SectionKind.OFFICE, 4.30, -0.05),
    ("法规科", SectionKind.OFFICE, 3.48, 0.03),
    ("旅游质监站", SectionKind.STATION, 3.87, 0.04),
    ("游客服务中心", SectionKind.STATION, 4.45, 0.01),
    ("景区管理站", SectionKind.STATION, 3.09, 0.05),
    ("旅游执法大队", SectionKind.STATION, 2.96, -0.03),
)
LEADERS = (("王建国", "局长"), ("李秀英", "副局长"), ("陈志强", "副局长"))
HEADS = {"市场开发科": "张伟"}  # the head the console hint names; the others are made up
INDUSTRY = (
    ("赵海涛", "青山旅行社"),
    ("孙丽华", "蓝天国际旅行社"),
    ("周明", "湖畔度假酒店"),
    ("吴晓东", "古城景区管理有限公司"),
    ("郑雪梅", "山水民宿协会"),
    ("冯国庆", "东方旅游客运公司"),
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "建国", "志明", "海燕",
    "晓明", "秀兰", "玉兰", "丹", "萍", "鹏", "辉", "宇", "浩", "婷", "雪", "琳", "欣怡", "子涵",
    "梓萱", "浩然", "俊杰", "嘉怡", "思远", "雨欣", "晨", "博", "慧", "颖", "斌", "凯", "佳", "阳",
    "健", "亮", "倩", "悦", "国栋", "永刚", "春梅", "冬梅", "立新", "振华", "学军", "德明", "丽萍", "海波",
    "红梅", "晓燕", "志刚", "金凤", "卫东", "彦", "晶", "琦", "蕾", "楠", "帆", "毅", "昊", "哲",
)  # fmt: skip
COMMITMENTS = (
    "首问负责：第一位接待的同志负责到底，不推诿",
    "一次性告知办事所需的全部材料",
    "材料齐全的申请，5个工作日内办结",
    "游客投诉24小时内响应，7个工作日内答复",
    "窗口工作日中午不断档，延时服务到最后一位办事群众",
    "来电来访当日登记，3个工作日内回复",
    "执法检查亮证执法，全程记录",
    "节假日安排专人值守，咨询电话畅通",
)
GENERAL_TASKS = ("整理双优活动{month}月台账", "组织窗口人员服务礼仪培训", "答复人大代表建议第{number}号")
SECTION_TASKS = {
    "办公室": ("起草双优活动{month}月工作简报", "筹备全局{month}月工作例会", "督办局长批示件第{number}号"),
    "行业管理科": ("审核旅行社设立许可申请（{org}）", "组织导游资格证换发", "开展星级饭店年度复核"),
    "市场开发科": ("策划“{spot}”旅游推介会", "编制{spot}旅游宣传手册", "对接{org}的旅游线路合作"),
    "规划发展科": ("起草“十五五”旅游发展规划{part}", "编制{spot}游客承载量测算报告", "申报{spot}旅游项目入库"),
    "质量监督科": ("处理游客投诉：{spot}门票退费", "回访{org}并形成整改报告", "开展节假日旅游市场专项检查"),
    "财务科": ("核对第三季度专项资金支出", "编制{month}月财务报表", "办理{org}奖补资金拨付"),
    "人事科": ("组织新入职人员岗前培训", "整理年度考核材料", "更新干部人事档案"),
    "法规科": ("修订旅游行政执法程序规定", "审查{org}合同的合法性", "办理行政复议案件第{number}号"),
    "旅游质监站": ("抽查{org}的旅游合同", "调解游客与{org}的纠纷", "检查{spot}旅游团队服务质量"),
    "游客服务中心": ("更新{spot}咨询服务资料", "答复12345热线转办件第{number}号", "整理{month}月游客意见簿"),
    "景区管理站": ("完成{spot}A级景区年度复核材料", "排查{spot}安全隐患", "更新{spot}景区导览标识"),
    "旅游执法大队": ("查处{spot}非法一日游", "办结{org}违规经营案件", "开展{spot}“不合理低价游”专项整治"),
}
SPOTS = ("青龙湖", "古城墙", "翠屏山", "云溪古镇", "白鹭湿地公园")
PARTS = ("初稿", "征求意见稿", "修改稿")
EXTEND_REASONS = ("等待景区补充材料", "需与市场监管局会商", "节假日顺延")
GOOD_COMMENTS = (
    "办事效率高，一次就办好了",
    "态度热情，解释很耐心",
    "材料一次性告知，很省心",
    "主动上门服务，点赞",
    "窗口服务规范，值得学习",
)
BAD_COMMENTS = ("回复有点慢", "电话经常打不通", "材料要求前后不一致", "希望能简化流程")
OUTCOME_NOTES = ("已约谈当事人并完善办事指南", "已电话致歉并当场办结", "已调整窗口排班，延长服务时间")


class DatabaseNotEmpty(Exception):
    """The database has members or sections already: the demo only fills a fresh one."""


@dataclass
class DemoSummary:
    """What the demo made, for the closing lines."""

    today: dt.date
    sections: Counter[SectionKind] = field(default_factory=Counter)
    members: Counter[Role] = field(default_factory=Counter)
    periods: int = 0
    ratings: int = 0
    reviews: int = 0
    bad_reviews: int = 0
    rectified: int = 0
    tasks: Counter[str] = field(default_factory=Counter)  # open, overdue, done, cancelled, extended
    commitments: int = 0
    snapshots: int = 0
    people: dict[str, str] = field(default_factory=dict)  # who the console hint names, name → what they are


@dataclass
class Cast:
    """The people of the demo, and how good each section and colleague tends to be."""

    sections: list[Section]
    quality: dict[int, float]  # section id → mean score it tends to get
    trend: dict[int, float]
    bias: dict[int, dict[str, float]]  # section id → standard key → offset
    raters: list[Member]  # staff, heads and leaders
    industry: list[Member]
    admin: Member
    member_quality: dict[int, float]
    heads: dict[int, Member]
    staff: dict[int, list[Member]]  # section id → its staff and head
    nominees: list[Member]  # the colleagues put forward as 优质服务个人: heads and one staff per station (leaders
    # judge the campaign, they are not candidates in it)
    rated_members: Counter[int] = field(default_factory=Counter)  # member id → raters so far
    met: set[tuple[int | None, int | None]] = field(default_factory=set)  # (rater, colleague) rated already


async def run_demo(settings: Settings) -> int:
    """`python -m bot demo`: fills the configured database, or refuses when it is in use."""
    db = Database(settings.database_url)
    try:
        await upgrade_database(db.engine)
        summary = await fill_demo(db=db, settings=settings)
    except DatabaseNotEmpty as error:
        print(f"demo: {error}", file=sys.stderr)
        return EXIT_NOT_EMPTY
    finally:
        await db.close()
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    print(render_summary(settings, summary, where))
    return 0


def campaign_today(settings: Settings, now: dt.datetime | None = None) -> dt.date:
    """Today in the configured time zone, moved into the campaign's dates when outside them."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(settings.tz).date()
    return max(settings.campaign.starts, min(today, settings.campaign.ends))


async def fill_demo(*, db: Database, settings: Settings, today: dt.date | None = None) -> DemoSummary:
    """Makes the demo campaign as of `today` (default: the real date moved into the campaign), in one transaction:
    all of it or, if anything fails, nothing."""
    today = today or campaign_today(settings)
    rng = random.Random(SEED)
    summary = DemoSummary(today=today)
    calendar = settings.calendar.work_calendar()
    campaign = settings.campaign
    async with db.transaction() as session:
        await refuse_unless_fresh(session)
        await campaigns.sync_campaign(
            session=session,
            name=campaign.name,
            starts=campaign.starts,
            ends=campaign.ends,
            publish_every=settings.scoring.min_raters,
        )
        cast = await make_cast(session, settings, rng, summary)
        await make_commitments(session, cast, rng, summary)
        await groups.bind_campaign_group(
            session=session,
            chat_id=GROUP_CHAT_ID,
            title=GROUP_TITLE,
            bound_by_id=cast.admin.id,
            language=settings.bot.default_language,
        )
        whole = await campaigns.period_at(session=session, kind=PeriodKind.CAMPAIGN, today=today)
        assert whole is not None
        kind = PeriodKind(campaign.rating_period)
        periods = await campaigns.list_periods(session=session, campaign_id=whole.campaign_id, kind=kind)
        periods = [period for period in periods if period.starts_on <= today]
        # Snapshots before the last two rating periods: the posted boards and /ranking then show movements.
        snapshot_before = [(max(0, len(periods) - 2), 1), (max(0, len(periods) - 1), 2)]
        for index, period in enumerate(periods):
            for number in [number for at, number in snapshot_before if at == index]:
                await take_snapshot(session, settings, whole, number, snapshot_moment(settings, period), summary)
            await make_finished_tasks(session, settings, calendar, cast, rng, period, today, summary)
            await rate_period(session, settings, cast, rng, period, index, summary)
            await review_period(session, settings, calendar, cast, rng, period, today, summary)
            summary.periods += 1
        await make_open_tasks(session, calendar, cast, rng, today, summary)
    return summary


def snapshot_moment(settings: Settings, period: Period) -> dt.datetime:
    """Like a month-end snapshot: at 17:00 on the day before the period begins."""
    return dt.datetime.combine(period.starts_on - dt.timedelta(days=1), dt.time(17), settings.tz)


async def refuse_unless_fresh(session: AsyncSession) -> None:
    people = await members.count_members(session=session)
    units = len(await sections.list_sections(session=session, include_archived=True))
    if people or units:
        raise DatabaseNotEmpty(
            f"the database is in use ({_count(people, 'member')}, {_count(units, 'section')}); the demo only fills "
            "a fresh one, so that made-up data never mixes with real data. Point DATABASE_URL at a new database, "
            "e.g. DATABASE_URL=sqlite+aiosqlite:///demo.db python -m bot demo"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# --- people -------------------------------------------------------------------------------------------------------


class NameMaker:
    """Distinct Chinese names whose console ids are distinct too."""

    def __init__(self, rng: random.Random, taken: list[str]) -> None:
        self.rng = rng
        self.names = set(taken)
        self.ids = {stable_id(name) for name in taken}

    def __call__(self) -> str:
        while True:
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            if name not in self.names and stable_id(name) not in self.ids:
                self.names.add(name)
                self.ids.add(stable_id(name))
                return name


async def make_cast(session: AsyncSession, settings: Settings, rng: random.Random, summary: DemoSummary) -> Cast:
    fixed = [ADMIN_NAME, *(name for name, _ in LEADERS), *HEADS.values(), *(name for name, _ in INDUSTRY)]
    new_name = NameMaker(rng, fixed)

    async def add(
        name: str, role: Role, section: Section | None, *, telegram_id: int | None = None, organisation: str = ""
    ) -> Member:
        member = await members.create_member(
            session=session,
            telegram_id=telegram_id or stable_id(name),
            display_name=name,
            role=role,
            status=MemberStatus.ACTIVE,
            section_id=section.id if section else None,
            language=settings.bot.default_language,
            username=None,
            organisation=organisation or None,
        )
        summary.members[role] += 1
        return member

    made: list[Section] = []
    quality: dict[int, float] = {}
    trend: dict[int, float] = {}
    bias: dict[int, dict[str, float]] = {}
    for name, kind, mean, per_month in SECTIONS:
        section = await sections.create_section(session=session, name=name, kind=kind)
        sid = section.id or 0
        made.append(section)
        quality[sid], trend[sid] = mean, per_month
        bias[sid] = {standard.key: rng.uniform(-0.3, 0.3) for standard in settings.campaign.standards}
        summary.sections[kind] += 1
    by_name = {section.name: section for section in made}
    office = by_name["办公室"]
    raters: list[Member] = []
    member_quality: dict[int, float] = {}
    for name, _title in LEADERS:
        leader = await add(name, Role.LEADER, office)
        raters.append(leader)
        member_quality[leader.id or 0] = quality[office.id or 0] + rng.uniform(0, 0.3)
    heads: dict[int, Member] = {}
    staff: dict[int, list[Member]] = {}
    for section in made:
        sid = section.id or 0
        heads[sid] = await add(HEADS.get(section.name) or new_name(), Role.HEAD, section)
        staff[sid] = [heads[sid]]
        for _ in range(rng.randint(5, 8)):
            staff[sid].append(await add(new_name(), Role.STAFF, section))
        raters.extend(staff[sid])
        for person in staff[sid]:
            member_quality[person.id or 0] = quality[sid] + rng.gauss(0, 0.35)
    admin_id = settings.bot.admins[0] if settings.bot.admins else stable_id(ADMIN_NAME)
    admin = await add(ADMIN_NAME, Role.ADMIN, None, telegram_id=admin_id)
    industry = [await add(name, Role.INDUSTRY, None, organisation=org) for name, org in INDUSTRY]
    market, centre = by_name["市场开发科"].id or 0, by_name["游客服务中心"].id or 0
    summary.people = {
        ADMIN_NAME: "the admin: /members, /sections, /moderate, /snapshot",
        LEADERS[0][0]: f"the {LEADERS[0][1]} (a leader): /ranking, /awards, /export, the overdue escalations",
        heads[market].display_name: "head of 市场开发科: /tasks, /commitments, /sectionscore, reminders",
        staff[centre][1].display_name: "staff of 游客服务中心: /rate, /myscore",
        INDUSTRY[0][0]: f"industry rater of {INDUSTRY[0][1]}: /rate",
    }
    stations = [section.id or 0 for section in made if section.kind == SectionKind.STATION]
    nominees = [*heads.values(), *(staff[sid][1] for sid in stations)]
    return Cast(made, quality, trend, bias, raters, industry, admin, member_quality, heads, staff, nominees)


async def make_commitments(session: AsyncSession, cast: Cast, rng: random.Random, summary: DemoSummary) -> None:
    for section in [section for index, section in enumerate(cast.sections) if index % 3 != 1]:
        head = cast.heads[section.id or 0]
        for text in rng.sample(COMMITMENTS, rng.randint(2, 3)):
            await commitments.add_commitment(
                session=session, section_id=section.id or 0, text=text, created_by_id=head.id
            )
            summary.commitments += 1


# --- tasks --------------------------------------------------------------------------------------------------------


def task_title(rng: random.Random, section: Section, due: dt.date) -> str:
    titles = SECTION_TASKS.get(section.name, ()) * 2 + GENERAL_TASKS
    return rng.choice(titles).format(
        org=rng.choice(INDUSTRY)[1],
        spot=rng.choice(SPOTS),
        part=rng.choice(PARTS),
        number=rng.randint(3, 48),
        month=due.month,
    )


def at_noon(settings: Settings, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=settings.tz)


def working_day_near(calendar: WorkCalendar, day: dt.date, offset: int) -> dt.date:
    """The working day `offset` working days after (or before, when negative) the working day on or before `day`."""
    while not calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    if offset >= 0:
        return calendar.add_working_days(day, offset)
    for _ in range(-offset):
        day -= dt.timedelta(days=1)
        while not calendar.is_working_day(day):
            day -= dt.timedelta(days=1)
    return day


def late_sections(cast: Cast) -> set[int]:
    """The sections that run late: the weakest ones, and 财务科, otherwise good."""
    weak = {section.id or 0 for section in cast.sections if cast.quality[section.id or 0] < 3.4}
    return weak | {section.id or 0 for section in cast.sections if section.name == "财务科"}


async def make_finished_tasks(
    session: AsyncSession,
    settings: Settings,
    calendar: WorkCalendar,
    cast: Cast,
    rng: random.Random,
    period: Period,
    today: dt.date,
    summary: DemoSummary,
) -> None:
    """The tasks due in the period before today: done (the late sections' sometimes late) or cancelled."""
    last = min(period.ends_on, today - dt.timedelta(days=1))
    if last < period.starts_on:
        return
    days = (last - period.starts_on).days
    late = late_sections(cast)
    for section in cast.sections:
        sid, head = section.id or 0, cast.heads[section.id or 0]
        for _ in range(round(rng.uniform(0.3, 1.3) * (days + 1) / 30)):
            due = period.starts_on + dt.timedelta(days=rng.randint(0, days))
            task = await new_task(session, section, cast.staff[sid], head, due, rng)
            if rng.random() < 0.12:
                closed = max(period.starts_on, due - dt.timedelta(days=rng.randint(1, 5)))
                await close(session, settings, task, TaskStatus.CANCELLED, head, "不再需要：上级通知已撤回", closed)
                summary.tasks["cancelled"] += 1
                continue
            if sid in late and rng.random() < 0.5:
                closed = working_day_near(calendar, due, rng.choice((1, 2, 3)))  # finished late
            else:
                closed = working_day_near(calendar, due, -rng.choice((0, 0, 1, 2)))
            closed = max(period.starts_on, min(closed, today))
            task.overdue_days = max(0, calendar.working_days_between(due, closed))
            await tasks.save_task(session=session, task=task)
            await close(session, settings, task, TaskStatus.DONE, head, "已办结", closed)
            summary.tasks["done"] += 1


async def make_open_tasks(
    session: AsyncSession,
    calendar: WorkCalendar,
    cast: Cast,
    rng: random.Random,
    today: dt.date,
    summary: DemoSummary,
) -> None:
    """Every section has a task due soon; the late ones also one overdue; some were put off once already."""
    late = late_sections(cast)
    for number, section in enumerate(cast.sections):
        sid, head = section.id or 0, cast.heads[section.id or 0]
        team = cast.staff[sid]
        offsets = [rng.choice((1, 2, 3, 5, 7, 10, 15))]
        if sid in late:
            offsets.append(-rng.randint(2, 7))
        if number % 3 == 0:
            offsets.append(rng.choice((0, 1, 3)))
        for offset in offsets:
            due = working_day_near(calendar, today, offset)
            if offset > 0 and number % 4 == 1:  # put off once already
                task = await new_task(session, section, team, head, working_day_near(calendar, today, -2), rng)
                await tasks.extend_task(
                    session=session, task=task, due_on=due, reason=rng.choice(EXTEND_REASONS), actor_id=head.id
                )
                summary.tasks["extended"] += 1
            else:
                task = await new_task(session, section, team, head, due, rng)
            if due < today:
                task.overdue_days = calendar.working_days_between(due, today)
                await tasks.save_task(session=session, task=task)
                summary.tasks["overdue"] += 1
            summary.tasks["open"] += 1


async def new_task(
    session: AsyncSession, section: Section, team: list[Member], head: Member, due: dt.date, rng: random.Random
) -> Task:
    return await tasks.create_task(
        session=session,
        section_id=section.id or 0,
        title=task_title(rng, section, due),
        due_on=due,
        responsible_id=rng.choice(team).id,
        created_by_id=head.id,
    )


async def close(
    session: AsyncSession, settings: Settings, task: Task, status: TaskStatus, actor: Member, note: str, day: dt.date
) -> None:
    await tasks.close_task(
        session=session, task=task, status=status, actor_id=actor.id, note=note, now=at_noon(settings, day)
    )


# --- ratings ------------------------------------------------------------------------------------------------------


def score(rng: random.Random, mean: float) -> int:
    return max(1, min(5, round(rng.gauss(mean, 0.6))))


async def rate_period(
    session: AsyncSession,
    settings: Settings,
    cast: Cast,
    rng: random.Random,
    period: Period,
    step: int,
    summary: DemoSummary,
) -> None:
    """Some colleagues rate another section and a colleague; most industry raters rate a few sections.

    Every confirmed rating updates the tallies of its month, quarter and the campaign (some 35 statements), so the
    turnout is kept modest to keep the demo quick."""
    standards = settings.campaign.standards

    async def rate(rater: Member, kind: TargetKind, target_id: int, mean: float, bias: dict[str, float]) -> None:
        scores = {standard.key: score(rng, mean + bias.get(standard.key, 0.0)) for standard in standards}
        comment = ""
        if rng.random() < COMMENTED:
            mean_score = sum(scores.values()) / len(scores)
            comment = rng.choice(GOOD_COMMENTS if mean_score >= 3.5 else BAD_COMMENTS)
        new = ratings.NewRating(
            rater_id=rater.id or 0,
            rater_group=RaterGroup.INDUSTRY if rater.role == Role.INDUSTRY else RaterGroup.INTERNAL,
            target_kind=kind,
            target_id=target_id,
            period_id=period.id or 0,
            scores=scores,
            comment=comment,
            value=rating_value(scores, standards),
            form_nonce=rng.randrange(1, 2**31),
        )
        await ratings.store_rating(session=session, new=new, now=utc_now())
        summary.ratings += 1

    def section_mean(section: Section) -> float:
        sid = section.id or 0
        return cast.quality[sid] + cast.trend[sid] * step

    # The least rated first (with some chance), so that few ratings still rank every section every period and
    # most nominated colleagues over the campaign.
    rated: Counter[int] = Counter()

    def pick_section(rater: Member, count: int) -> list[Section]:
        others = [section for section in cast.sections if section.id != rater.section_id]
        rng.shuffle(others)
        others.sort(key=lambda section: rated[section.id or 0] + rng.random() * 2)
        picked = others[:count]
        rated.update(section.id or 0 for section in picked)
        return picked

    def pick_colleague(rater: Member) -> Member | None:
        pool = [person for person in cast.nominees if person.id != rater.id and (rater.id, person.id) not in cast.met]
        if not pool:
            return None
        rng.shuffle(pool)
        same = rater.section_id
        pool.sort(
            key=lambda person: cast.rated_members[person.id or 0] + rng.random() * 2 - (person.section_id == same)
        )
        cast.met.add((rater.id, pool[0].id))
        cast.rated_members[pool[0].id or 0] += 1
        return pool[0]

    for rater in cast.raters:
        if rng.random() > INTERNAL_TURNOUT:
            continue
        for section in pick_section(rater, 1):
            await rate(rater, TargetKind.SECTION, section.id or 0, section_mean(section), cast.bias[section.id or 0])
        colleague = pick_colleague(rater) if rng.random() < 0.7 else None
        if colleague is not None:
            mean = cast.member_quality[colleague.id or 0] + cast.trend[colleague.section_id or 0] * step
            await rate(rater, TargetKind.MEMBER, colleague.id or 0, mean, {})
    for rater in cast.industry:
        if rng.random() > INDUSTRY_TURNOUT:
            continue
        # Each enterprise deals with several sections: enough of them rate each section for their group to count
        # (a group of fewer than min_raters counts nowhere).
        for section in pick_section(rater, INDUSTRY_SECTIONS):
            mean = section_mean(section) - 0.1  # the enterprises are a little stricter
            await rate(rater, TargetKind.SECTION, section.id or 0, mean, cast.bias[section.id or 0])


# --- public reviews -----------------------------------------------------------------------------------------------


async def review_period(
    session: AsyncSession,
    settings: Settings,
    calendar: WorkCalendar,
    cast: Cast,
    rng: random.Random,
    period: Period,
    today: dt.date,
    summary: DemoSummary,
) -> None:
    """The public reviews the sections' counters collected; the bad ones open rectification tasks."""
    last = min(period.ends_on, today)
    days = (last - period.starts_on).days
    for section in cast.sections:
        sid = section.id or 0
        visitors = REVIEWS_PER_MONTH[section.kind] * rng.uniform(0.5, 1.5) * max(0.5, (days + 1) / 30)
        for _ in range(round(visitors)):
            day = period.starts_on + dt.timedelta(days=rng.randint(0, days))
            level = max(1, min(5, round(rng.gauss(cast.quality[sid] + 0.3, 1.0))))
            summary.reviews += 1
            review = await reviews.add_review(
                session=session,
                section_id=sid,
                reviewer_telegram_id=REVIEWER_IDS + summary.reviews,
                level=level,
                day=day,
            )
            if level > 2:
                if rng.random() < 0.2:
                    review.comment = rng.choice(GOOD_COMMENTS)
                    await reviews.save_review(session=session, review=review)
                continue
            summary.bad_reviews += 1
            tags = [tag.key for tag in rng.sample(settings.reviews.bad_reason_tags, rng.choice((1, 1, 2)))]
            due = calendar.add_working_days(day, settings.reviews.rectify_working_days)
            titles = rectification_titles(settings, tags, "")
            task = await tasks.create_task(
                session=session,
                section_id=sid,
                title=titles[settings.bot.default_language],
                title_by_language=titles,
                due_on=due,
                responsible_id=None,
                created_by_id=None,
            )
            review.complete, review.tags, review.task_id = True, tags, task.id
            await reviews.save_review(session=session, review=review)
            answered = calendar.add_working_days(day, rng.randint(1, 7))
            # the old ones were all answered; of the last weeks', some are still waiting
            if answered <= today and ((today - day).days > 21 or rng.random() < 0.5):
                review.outcome, review.outcome_note = "fixed", rng.choice(OUTCOME_NOTES)
                await reviews.save_review(session=session, review=review)
                task.overdue_days = max(0, calendar.working_days_between(due, answered))
                await tasks.save_task(session=session, task=task)
                head = cast.heads[sid]
                await close(session, settings, task, TaskStatus.DONE, head, f"fixed: {review.outcome_note}", answered)
                summary.rectified += 1
                summary.tasks["done"] += 1
            else:
                if due < today:
                    task.overdue_days = calendar.working_days_between(due, today)
                    await tasks.save_task(session=session, task=task)
                    summary.tasks["overdue"] += 1
                summary.tasks["open"] += 1


# --- snapshots and the summary ------------------------------------------------------------------------------------


async def take_snapshot(
    session: AsyncSession, settings: Settings, campaign: Period, number: int, now: dt.datetime, summary: DemoSummary
) -> None:
    taken = await snapshots.take_snapshot(
        session=session,
        rules=settings.scoring_rules(),
        period=campaign,
        slot=f"demo:{number}",
        now=now,
        today=now.astimezone(settings.tz).date(),
    )
    summary.snapshots += taken is not None


def render_summary(settings: Settings, summary: DemoSummary, where: str) -> str:
    sections_made = sum(summary.sections.values())
    people = sum(summary.members.values())
    roles = summary.members
    done, open_, overdue = summary.tasks["done"], summary.tasks["open"], summary.tasks["overdue"]
    cancelled = summary.tasks["cancelled"]
    lines = [
        f"The demo campaign is in {where}, as of {summary.today.isoformat()}:",
        f"  {sections_made} sections ({summary.sections[SectionKind.OFFICE]} offices, "
        f"{summary.sections[SectionKind.STATION]} stations), {people} members ({roles[Role.LEADER]} leaders, "
        f"{roles[Role.HEAD]} heads, {roles[Role.STAFF]} staff, {roles[Role.ADMIN]} admin, "
        f"{roles[Role.INDUSTRY]} industry raters)",
        f"  {summary.ratings} ratings over {summary.periods} rating periods, {summary.reviews} public reviews "
        f"({summary.bad_reviews} bad, {summary.rectified} rectified)",
        f"  {done + open_ + cancelled} tasks ({open_} open of which {overdue} overdue, {done} done, {cancelled} "
        f"cancelled), {summary.commitments} commitments, {summary.snapshots} leaderboard snapshots, "
        f"the campaign group {GROUP_TITLE}",
        "Now run: python -m bot console — then become one of them:",
    ]
    real_today = dt.datetime.now(settings.tz).date()
    if summary.today != real_today and summary.today == campaign_today(settings):
        lines.insert(
            1, f"  (today, {real_today.isoformat()}, is outside the campaign; the demo is set on its nearest day)"
        )
    lines += [f"  :user {name} — {what}" for name, what in summary.people.items()]
    lines.append(f"  :group {GROUP_TITLE} — the campaign group, bound already")
    morning = settings.calendar.work_calendar().next_working_day(summary.today)
    digest = f"{morning.isoformat()} {settings.reminders.digest_time:%H:%M}"
    lines.append(f"  :time {digest} — the next working morning: reminders, digests and overdue escalations go out")
    if board_kind(settings) == PeriodKind.CAMPAIGN:
        lines.append("  /ranking — the campaign's board, with how the sections moved (▲ ▼) since the last snapshot")
    else:
        whole = translator(settings.bot.default_language).gettext("Campaign")
        lines.append(f"  /ranking, then [{whole}] — how the sections moved (▲ ▼) since the last snapshot")
    if settings.bot.admins:
        lines.append(f"  ({ADMIN_NAME} has the Telegram id {settings.bot.admins[0]}, the first of bot.admins.)")
    return "\n".join(lines)
