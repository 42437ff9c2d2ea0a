"""v2 on native events: C/C++ (Linux, Windows, Android NDK) and Rust, as the SDKs send them.

Frames are what sentry-native, crashpad/breakpad minidumps (once processed)
and sentry-rust carry: instruction addresses, the module as `package`, the
symbol as `function`, the source file when debug information had it, and no
in-app flag for C/C++ (the rules decide).
"""

from __future__ import annotations

from tests.grouping.factories import contributing, expected_hash, group, hint_of
from workers.grouping import GroupingConfig, get_config

V2 = get_config("v2")
GAME = "/opt/game/bin/game"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"


def frame(function, package=GAME, *, filename=None, lineno=None, **extra) -> dict:
    """A native frame in stack order (callers first), as sentry-native sends it."""
    out = {"instruction_addr": "0x55d1c2b6bae1", "function": function, "package": package}
    if filename is not None:
        out["filename"] = filename
        out["abs_path"] = f"/build/game/src/{filename}"
        out["lineno"] = lineno or 42
    return {**out, **extra}


def crash(frames, *, type_="SIGSEGV", value="Segfault", mechanism="signalhandler") -> dict:
    return {
        "platform": "native",
        "level": "fatal",
        "sdk": {"name": "sentry.native", "version": "0.7.5"},
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "mechanism": {"type": mechanism, "synthetic": True, "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
    }


def functions(result, variant="system") -> list[str]:
    """Contributing function names of one variant, callers first."""
    return [value for kind, value in leaves(result, variant) if kind == "function"]


def leaves(result, variant: str) -> list[tuple[str, str]]:
    info = next(v for v in result.explanation.variants if v.name == variant)
    out: list[tuple[str, str]] = []

    def walk(component) -> None:
        if component.contributes:
            out.extend((component.id, value) for value in component.values)
            for child in component.children:
                walk(child)

    walk(info.component)
    return out


def test_the_file_basename_contributes_beside_the_function():
    event = crash(
        [
            frame("main", filename="main.cpp"),
            frame("game::Renderer::DrawMesh(Mesh const&)", filename="Renderer.cpp"),
        ]
    )
    result = group(event, V2, explain=True)
    assert ("filename", "renderer.cpp") in contributing(result)
    assert ("function", "game::Renderer::DrawMesh") in contributing(result)
    # v1 drops the file when a function is known (Sentry's mobile config).
    v1 = group(event, explain=True)
    assert ("filename", "renderer.cpp") not in contributing(v1)


def test_process_start_frames_and_their_callers_never_count():
    event = crash(
        [
            frame("_start"),
            frame("__libc_start_main", LIBC),
            frame("main", filename="main.cpp"),
            frame("Engine::Run()", filename="engine.cpp"),
            frame("Renderer::Frame()", filename="renderer.cpp"),
        ]
    )
    result = group(event, V2, explain=True)
    assert result.hash == expected_hash(
        "main.cpp", "main", "engine.cpp", "Engine::Run", "renderer.cpp", "Renderer::Frame"
    )
    hints = [hint for _, hint in hint_of(result, "frame")[:2]]
    assert hints == ["ignored by stack trace rule (category:threadbase v-group -group)"] * 2


def test_a_worker_thread_groups_from_its_own_code_not_the_thread_plumbing():
    event = crash(
        [
            frame("__clone", LIBC),
            frame("start_thread", "/usr/lib/x86_64-linux-gnu/libpthread.so.0"),
            frame(
                "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (Worker::*)(), "
                "Worker*> > >::_M_run()",
                LIBSTDCXX,
            ),
            frame("void std::__invoke_impl<void, void (Worker::*)(), Worker*>()", GAME),
            frame("Worker::Loop()", filename="worker.cpp"),
            frame("Job::Execute()", filename="job.cpp"),
        ]
    )
    assert group(event, V2).hash == expected_hash(
        "worker.cpp", "Worker::Loop", "job.cpp", "Job::Execute"
    )


def test_windows_start_up_frames_never_count():
    event = crash(
        [
            frame("RtlUserThreadStart", "C:\\Windows\\System32\\ntdll.dll"),
            frame("BaseThreadInitThunk", "C:\\Windows\\System32\\KERNEL32.DLL"),
            frame("__scrt_common_main_seh", "C:\\Program Files\\Game\\game.exe"),
            frame("invoke_main", "C:\\Program Files\\Game\\game.exe"),
            frame("main", "C:\\Program Files\\Game\\game.exe", filename="main.cpp"),
            frame("Game::Tick()", "C:\\Program Files\\Game\\game.exe", filename="game.cpp"),
        ],
        type_="EXCEPTION_ACCESS_VIOLATION_READ",
        value="Fatal Error: EXCEPTION_ACCESS_VIOLATION_READ",
        mechanism="minidump",
    )
    assert group(event, V2).hash == expected_hash("main.cpp", "main", "game.cpp", "Game::Tick")


def test_the_first_throw_frame_counts_and_what_it_calls_does_not():
    uncaught = crash(
        [
            frame("main", filename="main.cpp"),
            frame("Config::Load(std::string const&)", filename="config.cpp"),
            frame("__cxa_throw", LIBSTDCXX),
            frame("std::terminate()", LIBSTDCXX),
            frame("abort", LIBC),
            frame("raise", LIBC),
        ],
        type_="SIGABRT",
        value="Abort",
    )
    result = group(uncaught, V2, explain=True)
    assert functions(result) == ["main", "Config::Load", "__cxa_throw"]
    assert hint_of(result, "frame")[-1] == (
        False,
        "ignored by stack trace rule (category:throw ^-group)",
    )


def test_an_abort_is_kept_where_v1_dropped_it():
    event = crash(
        [
            frame("main", filename="main.cpp"),
            frame("Inventory::Check()", filename="inventory.cpp"),
            frame("abort", LIBC),
            frame("raise", LIBC),
            frame("pthread_kill", LIBC),
        ],
        type_="SIGABRT",
        value="Abort",
    )
    result = group(event, V2, explain=True)
    assert functions(result) == ["main", "Inventory::Check", "abort"]
    assert "abort" not in functions(group(event, explain=True))


def test_wrappers_never_count_lambdas_std_function_and_cold_clones():
    event = crash(
        [
            frame("main", filename="main.cpp"),
            frame("EventLoop::Dispatch()", filename="loop.cpp"),
            frame("std::function<void ()>::operator()() const", LIBSTDCXX),
            frame(
                "std::_Function_handler<void (), EventLoop::Post()::{lambda()#1}>::_M_invoke("
                "std::_Any_data const&)",
                GAME,
            ),
            frame("EventLoop::Post()::{lambda()#1}::operator()() const", filename="loop.cpp"),
            frame("Handler::OnMessage(Message const&)", filename="handler.cpp"),
            frame("parse_header.cold", GAME),
        ]
    )
    assert functions(group(event, V2, explain=True)) == [
        "main",
        "EventLoop::Dispatch",
        "Handler::OnMessage",
    ]


def test_inside_the_standard_library_only_the_entry_counts():
    event = crash(
        [
            frame("main", filename="main.cpp"),
            frame("Leaderboard::Sort()", filename="leaderboard.cpp"),
            frame("void std::sort<Score*, ByPoints>(Score*, Score*, ByPoints)", GAME),
            frame("void std::__introsort_loop<Score*, long, ByPoints>()", GAME),
            frame("Score* std::__unguarded_partition<Score*, ByPoints>()", GAME),
        ]
    )
    assert functions(group(event, V2, explain=True)) == [
        "main",
        "Leaderboard::Sort",
        "std::sort<T>",
    ]


def test_an_allocator_crash_groups_on_the_call_into_the_allocator():
    def heap_crash(internals):
        frames = [
            frame("main", filename="main.cpp"),
            frame("Cache::Insert(Key const&)", filename="cache.cpp"),
            frame("free", LIBC),
            *[frame(name, LIBC) for name in internals],
        ]
        return crash(frames, type_="SIGSEGV")

    glibc_2_31 = group(heap_crash(["_int_free"]), V2, explain=True)
    glibc_2_35 = group(heap_crash(["_int_free", "malloc_consolidate"]), V2)
    assert functions(glibc_2_31) == ["main", "Cache::Insert", "free"]
    assert glibc_2_31.hash == glibc_2_35.hash


def test_inside_graphics_drivers_only_the_entries_count():
    def gpu_crash(driver_frames):
        return crash(
            [
                frame("Renderer::Draw()", "/data/app/com.example.game/lib/arm64/libgame.so"),
                frame("glDrawElements", "/system/lib64/libGLESv2.so"),
                *[frame(name, "/vendor/lib64/egl/libGLESv2_adreno.so") for name in driver_frames],
            ]
        )

    one_driver = group(gpu_crash(["<unknown>", "<unknown>"]), V2)
    other_driver = group(gpu_crash(["<unknown>", "<unknown>", "<unknown>"]), V2)
    assert one_driver.hash == other_driver.hash
    assert functions(group(gpu_crash(["gsl_command_submit"]), V2, explain=True)) == [
        "Renderer::Draw",
        "glDrawElements",
        "gsl_command_submit",
    ]


def test_android_runtime_frames_between_java_and_native_never_count():
    event = crash(
        [
            frame("art_quick_invoke_stub", "/apex/com.android.art/lib64/libart.so"),
            frame(
                "art::ArtMethod::Invoke(art::Thread*, unsigned int*)",
                "/apex/com.android.art/lib64/libart.so",
            ),
            frame("art_quick_generic_jni_trampoline", "/apex/com.android.art/lib64/libart.so"),
            frame(
                "Java_com_example_game_Native_step",
                "/data/app/com.example.game/lib/arm64/libgame.so",
                filename="jni.cpp",
            ),
            frame(
                "Physics::Step(float)",
                "/data/app/com.example.game/lib/arm64/libgame.so",
                filename="physics.cpp",
            ),
        ]
    )
    assert functions(group(event, V2, explain=True)) == [
        "Java_com_example_game_Native_step",
        "Physics::Step",
    ]


def test_rust_sentry_frames_are_out_of_app_but_still_count():
    event = {
        "platform": "native",
        "sdk": {"name": "sentry.rust", "version": "0.32.2"},
        "exception": {
            "values": [
                {
                    "type": "anyhow::Error",
                    "value": "connection refused",
                    "stacktrace": {
                        "frames": [
                            {"function": "server::main", "filename": "main.rs", "in_app": True},
                            {
                                "function": "server::handle",
                                "filename": "handler.rs",
                                "in_app": True,
                            },
                            {
                                "function": "sentry_core::api::capture_error",
                                "filename": "api.rs",
                                "package": "sentry_core",
                            },
                        ]
                    },
                }
            ]
        },
    }
    result = group(event, V2, explain=True)
    assert "sentry_core::api::capture_error" in functions(result, "system")
    assert "sentry_core::api::capture_error" not in functions(result, "app")
    assert "sentry_core::api::capture_error" not in functions(group(event, explain=True), "system")


def test_package_rules_retry_a_relative_package_with_a_leading_slash():
    rules = "family:native package:**/libvendor.so -group"
    event = crash([frame("main", filename="main.cpp"), frame("vendor_decode", "libvendor.so")])
    v2 = group(event, GroupingConfig.build("v2", stacktrace_rules=rules), explain=True)
    v1 = group(event, GroupingConfig.build("v1", stacktrace_rules=rules), explain=True)
    assert functions(v2) == ["main"]
    assert functions(v1) == ["main", "vendor_decode"]


def test_a_frame_without_a_function_matches_as_unknown():
    rules = "family:native function:<unknown> package:**/libvendor.so -group"
    event = crash(
        [
            frame("main", filename="main.cpp"),
            {
                "instruction_addr": "0x7f00",
                "package": "/opt/game/lib/libvendor.so",
                "filename": "vendor.c",
            },
        ]
    )
    v2 = group(event, GroupingConfig.build("v2", stacktrace_rules=rules), explain=True)
    assert ("filename", "vendor.c") not in contributing(v2)
    v1 = group(event, GroupingConfig.build("v1", stacktrace_rules=rules), explain=True)
    assert ("filename", "vendor.c") in contributing(v1)


def test_a_rule_is_matched_on_every_frame_before_it_changes_any():
    # The second rule marks frames called by a "seed" frame. Sentry matches it
    # on the frames as they were, so only the frame right after Base is marked;
    # applied while matching, the mark would run down the whole stack.
    rules = "\n".join(
        [
            "family:native function:Base category=seed",
            "[ category:seed ] | family:native function:* category=seed",
            "family:native category:seed -group",
        ]
    )
    event = crash([frame(name) for name in ("Base", "A", "B", "C")])
    v2 = group(event, GroupingConfig.build("v2", stacktrace_rules=rules), explain=True)
    v1 = group(event, GroupingConfig.build("v1", stacktrace_rules=rules), explain=True)
    assert functions(v2) == ["B", "C"]
    assert functions(v1) == []


def test_a_frame_the_sdk_did_not_mark_matches_app_no_while_rules_set_categories():
    # (Rules that change contributions see unmarked frames as out of app in both.)
    rules = "family:native app:no function:vendor_decode category=vendor\ncategory:vendor -group"
    event = crash([frame("main", filename="main.cpp"), frame("vendor_decode")])
    v2 = group(event, GroupingConfig.build("v2", stacktrace_rules=rules), explain=True)
    v1 = group(event, GroupingConfig.build("v1", stacktrace_rules=rules), explain=True)
    assert functions(v2) == ["main"]
    assert functions(v1) == ["main", "vendor_decode"]
