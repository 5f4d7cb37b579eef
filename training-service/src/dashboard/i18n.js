"use strict";
// The dashboard's words in English and Korean. The language is the first of the browser's
// languages that is one of these (English otherwise), or the one last chosen with the switch.
window.TrainingI18n = (function () {
  const WORDS = {
    en: {
      title: "Training time",
      skip: "Skip to content",
      token: "Token",
      tokenPlaceholder: "paste a bearer token",
      useToken: "Use token",
      language: "Language",
      noToken: "no token",
      live: "live",
      error: "error: {msg}",
      notAToken: "that does not look like a token of this service",
      roleAdmin: "admin",
      roleLearner: "learner",
      learner: "Learner",
      total: "Total time",
      credited: "Credited time (8 h a day at most)",
      lastActivity: "Last counted activity",
      noActivity: "no activity counted yet",
      secondsAgo: "{n} s ago",
      minutesAgo: "{n} min ago",
      hoursAgo: "{n} h ago",
      daysAgo: "{n} days ago",
      inFuture: "just now",
      freshnessHelp: "The newest of your events that is already in these numbers. Activity after it is not counted yet.",
      seconds: "{n} s",
      hm: "{h} h {m} min",
      perDay: "Per day",
      chartTitle: "Training time per day in {course}",
      chartDesc: "Bars show each day's training time; the dashed line is the 8-hour daily cap; time above it is not credited.",
      capLabel: "8 h cap",
      creditedPart: "credited",
      uncreditedPart: "not credited (over the cap)",
      courses: "Courses",
      course: "Course",
      lecture: "Lecture",
      quiz: "Quiz",
      share: "{lecture}% lecture · {quiz}% quiz",
      courseFacts: "{credited} credited of {total} · {days} attended days",
      attendedDays: "Attended days",
      attendance: "Attendance",
      date: "Date",
      status: "Status",
      dayAttended: "attended",
      missingIdentity: "not attended: identity verification not received yet",
      missingCheckIn: "not attended: check-in not received yet",
      missingBoth: "not attended: no check-in and no identity verification received",
      dayTime: "Time",
      dayCredited: "Credited",
      dayUncredited: "Not credited",
      noCourses: "No training counted yet.",
      showNumbers: "Show the numbers",
      // admin
      courseSelect: "Course",
      pipeline: "Pipeline of this instance",
      instanceName: "({name})",
      pipelineScope: "Only the consumers of the service instance that answered: with several instances, each counts its own events and dead letters (their sum is in Prometheus).",
      appliedRate: "Events applied",
      perMinute: "{n} / min",
      lag: "Lag",
      lagValue: "{s} s ({n} records waiting)",
      noLag: "no partition reported yet",
      deadLetters: "Dead letters",
      deadLastHour: "{n} in the last hour",
      reasonCount: "{reason}: {n}",
      reason_decode: "not decodable",
      reason_key: "bad key",
      reason_rejected: "refused by validation",
      reason_permanent: "permanent error",
      reason_retries_exhausted: "retries exhausted",
      reason_worker_crashed: "crashed the worker",
      recentDead: "Latest dead letters",
      colWhen: "When",
      colHandler: "Handler",
      colRecord: "Record (topic / partition @ offset)",
      colReason: "Reason",
      colError: "Error (shortened, quoted values hidden)",
      orId: "or id",
      coursePlaceholder: "course id",
      learners: "{n} learners",
      noCoursesYet: "no courses yet",
      newestInCourse: "Newest counted activity in this course",
      histTitle: "Credited time of the learners of {course}",
      histDesc: "How many learners have how much credited time, in bins of {bin}.",
      histBin: "{from}–{to}",
      histAxis: "learners",
      search: "Search learner id",
      notAttendedOn: "Not attended on",
      pace: "Pace (hours a day)",
      paceHelp: "Behind pace: credited time below the pace times the course's days so far.",
      filterAll: "All learners",
      filterAbsent: "Not attended on the chosen day",
      filterBehind: "Behind pace",
      show: "Show",
      colLearner: "Learner",
      colTotal: "Total s",
      colCredited: "Credited s",
      colLecture: "Lecture s",
      colQuiz: "Quiz s",
      colAttended: "Attended days",
      colCreditedHm: "Credited",
      colLast: "Last activity",
      colFlags: "Needs attention",
      flagAbsent: "not attended {day}",
      flagBehind: "behind pace",
      sortBy: "Sort by {col}",
      matching: "{n} of {total} learners shown",
      none: "—",
    },
    ko: {
      title: "학습 시간",
      skip: "본문으로 건너뛰기",
      token: "토큰",
      tokenPlaceholder: "Bearer 토큰을 붙여 넣으세요",
      useToken: "토큰 사용",
      language: "언어",
      noToken: "토큰 없음",
      live: "실시간",
      error: "오류: {msg}",
      notAToken: "이 서비스의 토큰이 아닌 것 같습니다",
      roleAdmin: "관리자",
      roleLearner: "학습자",
      learner: "학습자",
      total: "총 학습 시간",
      credited: "인정 시간 (하루 최대 8시간)",
      lastActivity: "마지막으로 반영된 활동",
      noActivity: "아직 반영된 활동이 없습니다",
      secondsAgo: "{n}초 전",
      minutesAgo: "{n}분 전",
      hoursAgo: "{n}시간 전",
      daysAgo: "{n}일 전",
      inFuture: "방금",
      freshnessHelp: "이 숫자에 이미 반영된 가장 최근 활동입니다. 그 이후의 활동은 아직 반영되지 않았습니다.",
      seconds: "{n}초",
      hm: "{h}시간 {m}분",
      perDay: "일별",
      chartTitle: "{course} 일별 학습 시간",
      chartDesc: "막대는 날짜별 학습 시간이며, 점선은 하루 8시간 인정 한도입니다. 한도를 넘은 시간은 인정되지 않습니다.",
      capLabel: "8시간 한도",
      creditedPart: "인정",
      uncreditedPart: "미인정 (한도 초과)",
      courses: "과정",
      course: "과정",
      lecture: "강의",
      quiz: "퀴즈",
      share: "강의 {lecture}% · 퀴즈 {quiz}%",
      courseFacts: "인정 {credited} / 전체 {total} · 출석 {days}일",
      attendedDays: "출석일",
      attendance: "출석",
      date: "날짜",
      status: "상태",
      dayAttended: "출석 인정",
      missingIdentity: "미출석: 본인 인증이 아직 접수되지 않았습니다",
      missingCheckIn: "미출석: 출석 체크가 아직 접수되지 않았습니다",
      missingBoth: "미출석: 출석 체크와 본인 인증이 접수되지 않았습니다",
      dayTime: "학습 시간",
      dayCredited: "인정",
      dayUncredited: "미인정",
      noCourses: "아직 반영된 학습이 없습니다.",
      showNumbers: "숫자로 보기",
      courseSelect: "과정",
      pipeline: "이 인스턴스의 파이프라인",
      instanceName: "({name})",
      pipelineScope: "응답한 서비스 인스턴스 하나의 소비자만 집계합니다. 인스턴스가 여러 개면 이벤트와 데드 레터를 각자 따로 셉니다 (합계는 Prometheus에서 확인).",
      appliedRate: "반영된 이벤트",
      perMinute: "분당 {n}건",
      lag: "지연",
      lagValue: "{s}초 (대기 중 {n}건)",
      noLag: "아직 보고된 파티션이 없습니다",
      deadLetters: "데드 레터",
      deadLastHour: "최근 1시간 {n}건",
      reasonCount: "{reason} {n}건",
      reason_decode: "디코딩 불가",
      reason_key: "잘못된 키",
      reason_rejected: "검증 거부",
      reason_permanent: "영구 오류",
      reason_retries_exhausted: "재시도 소진",
      reason_worker_crashed: "워커 중단 유발",
      recentDead: "최근 데드 레터",
      colWhen: "시각",
      colHandler: "핸들러",
      colRecord: "레코드 (토픽 / 파티션 @ 오프셋)",
      colReason: "사유",
      colError: "오류 (요약, 따옴표 안 값 숨김)",
      orId: "또는 ID",
      coursePlaceholder: "과정 ID",
      learners: "학습자 {n}명",
      noCoursesYet: "아직 과정이 없습니다",
      newestInCourse: "이 과정에서 가장 최근 반영된 활동",
      histTitle: "{course} 학습자별 인정 시간 분포",
      histDesc: "인정 시간 구간({bin} 단위)별 학습자 수입니다.",
      histBin: "{from}–{to}",
      histAxis: "학습자 수",
      search: "학습자 ID 검색",
      notAttendedOn: "미출석 날짜",
      pace: "기준 속도 (하루 시간)",
      paceHelp: "기준 미달: 인정 시간이 기준 속도 × 지금까지의 과정 일수보다 적음.",
      filterAll: "모든 학습자",
      filterAbsent: "선택한 날짜 미출석",
      filterBehind: "기준 미달",
      show: "보기",
      colLearner: "학습자",
      colTotal: "총 초",
      colCredited: "인정 초",
      colLecture: "강의 초",
      colQuiz: "퀴즈 초",
      colAttended: "출석일",
      colCreditedHm: "인정 시간",
      colLast: "마지막 활동",
      colFlags: "확인 필요",
      flagAbsent: "{day} 미출석",
      flagBehind: "기준 미달",
      sortBy: "{col} 기준 정렬",
      matching: "전체 {total}명 중 {n}명 표시",
      none: "—",
    },
  };
  const LANGS = ["en", "ko"];

  function pick() {
    const saved = localStorage.getItem("training-lang");
    if (LANGS.includes(saved)) return saved;
    for (const l of navigator.languages || [navigator.language || "en"]) {
      const base = String(l).toLowerCase().split("-")[0];
      if (LANGS.includes(base)) return base;
    }
    return "en";
  }

  let lang = pick();

  function t(key, vars) {
    const s = (WORDS[lang] && WORDS[lang][key]) || WORDS.en[key] || key;
    return vars ? s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : "{" + k + "}")) : s;
  }

  // Fills every element marked `data-i18n` (text), `data-i18n-placeholder` and
  // `data-i18n-label` (aria-label).
  function apply(root) {
    document.documentElement.lang = lang;
    for (const el of (root || document).querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of (root || document).querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of (root || document).querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    document.title = t("title");
  }

  function set(l) {
    if (!LANGS.includes(l)) return;
    lang = l;
    localStorage.setItem("training-lang", l);
    apply();
  }

  function hm(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return t("hm", { h, m: String(m).padStart(2, "0") });
  }

  function ago(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 0) return t("inFuture");
    if (s < 120) return t("secondsAgo", { n: s });
    if (s < 7200) return t("minutesAgo", { n: Math.floor(s / 60) });
    if (s < 172800) return t("hoursAgo", { n: Math.floor(s / 3600) });
    return t("daysAgo", { n: Math.floor(s / 86400) });
  }

  return { t, apply, set, hm, ago, get lang() { return lang; }, LANGS };
})();
