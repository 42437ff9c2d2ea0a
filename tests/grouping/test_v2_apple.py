"""v2 on Apple events as sentry-cocoa sends them (after symbolication).

Frames carry the image as `package` (the app binary inside its bundle, or a
system framework), addresses, the symbol as `function` and the SDK's in-app
guess, which is wrong for apps that name their binary differently from the
bundle or link their own frameworks: v2's built-in rules put every frame of
an app bundle in app, as Sentry's do.
"""

from __future__ import annotations

from tests.grouping.factories import group
from tests.grouping.test_v2_native import functions
from workers.grouping import get_config

V2 = get_config("v2")
APP = "/private/var/containers/Bundle/Application/4B0E1C32-8F5A-4A5B-9C70-2D3E4F5A6B7C/Shop.app"
SIMULATOR_APP = (
    "/Users/dev/Library/Developer/CoreSimulator/Devices/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/"
    "data/Containers/Bundle/Application/7A6B5C4D-3E2F-1A0B-9C8D-7E6F5A4B3C2D/Shop.app"
)
SYSTEM = "/System/Library/Frameworks"
LIBDISPATCH = "/usr/lib/system/libdispatch.dylib"


def frame(function, package, *, in_app=False, **extra) -> dict:
    return {
        "function": function,
        "package": package,
        "image_addr": "0x104a58000",
        "instruction_addr": "0x104a5c3e8",
        "symbol_addr": "0x104a5c3a0",
        "in_app": in_app,
        **extra,
    }


def cocoa_crash(
    frames, *, type_="NSRangeException", value="index 5 beyond bounds", mechanism="nsexception"
):
    return {
        "platform": "cocoa",
        "sdk": {"name": "sentry.cocoa", "version": "8.21.0"},
        "contexts": {"os": {"name": "iOS", "version": "17.4.1"}},
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "mechanism": {"type": mechanism, "handled": False},
                    "thread_id": 0,
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "threads": {"values": [{"id": 0, "crashed": True, "current": True, "name": "main"}]},
    }


def test_frames_of_the_app_bundle_are_in_app_whatever_the_sdk_said():
    frames = [
        frame("main", f"{APP}/Shop", in_app=True, filename="main.swift"),
        frame("UIApplicationMain", f"{SYSTEM}/UIKit.framework/UIKit"),
        frame("CheckoutKit.Cart.total()", f"{APP}/Frameworks/CheckoutKit.framework/CheckoutKit"),
    ]
    result = group(cocoa_crash(frames), V2, explain=True)
    assert result.variant == "app"
    assert functions(result, "app") == ["main", "CheckoutKit.Cart.total"]


def test_simulator_and_mac_builds_are_in_app_too():
    for package in (
        f"{SIMULATOR_APP}/Shop",
        "/Users/dev/Build/Products/Debug/Shop.app/Contents/MacOS/Shop",
    ):
        frames = [
            frame("NSApplicationMain", f"{SYSTEM}/AppKit.framework/AppKit"),
            frame("Shop.CartViewController.checkout()", package, in_app=False),
        ]
        result = group(cocoa_crash(frames), V2, explain=True)
        assert functions(result, "app") == ["Shop.CartViewController.checkout"], package


def test_system_frameworks_stay_out_of_app_even_inside_xcode():
    runtime = (
        "/Applications/Xcode.app/Contents/Developer/Platforms/iPhoneOS.platform/Library/Developer/"
        "CoreSimulator/Profiles/Runtimes/iOS.simruntime/Contents/Resources/RuntimeRoot/System/"
        "Library/Frameworks/UIKit.framework/UIKit"
    )
    frames = [
        frame("UIApplicationMain", runtime, in_app=True),
        frame("Shop.CartViewController.checkout()", f"{SIMULATOR_APP}/Shop", in_app=True),
    ]
    result = group(cocoa_crash(frames), V2, explain=True)
    assert functions(result, "app") == ["Shop.CartViewController.checkout"]


def test_an_nsexception_groups_on_the_throw_not_the_runtime_after_it():
    frames = [
        frame("main", f"{APP}/Shop", in_app=True),
        frame("-[CartViewController checkout:]", f"{APP}/Shop", in_app=True),
        frame(
            "-[__NSArrayM objectAtIndexedSubscript:]",
            f"{SYSTEM}/CoreFoundation.framework/CoreFoundation",
        ),
        frame("objc_exception_throw", "/usr/lib/libobjc.A.dylib"),
        frame("__exceptionPreprocess", f"{SYSTEM}/CoreFoundation.framework/CoreFoundation"),
    ]
    result = group(cocoa_crash(frames), V2, explain=True)
    assert functions(result, "system") == [
        "main",
        "-[CartViewController checkout:]",
        "-[__NSArrayM objectAtIndexedSubscript:]",
        "objc_exception_throw",
    ]


def test_a_dispatch_queue_crash_groups_on_the_app_block_not_the_queue_machinery():
    def on_queue(drain):
        frames = [
            frame("start_wqthread", "/usr/lib/system/libsystem_pthread.dylib"),
            frame("_pthread_wqthread", "/usr/lib/system/libsystem_pthread.dylib"),
            frame("_dispatch_worker_thread2", LIBDISPATCH),
            *[frame(name, LIBDISPATCH) for name in drain],
            frame("_dispatch_client_callout", LIBDISPATCH),
            frame(
                "__58-[NSURLSession dataTaskWithRequest:]_block_invoke",
                f"{SYSTEM}/CFNetwork.framework/CFNetwork",
            ),
            frame("__34-[SyncManager start]_block_invoke", f"{APP}/Shop", in_app=True),
            frame("-[SyncManager upload:]", f"{APP}/Shop", in_app=True),
        ]
        return cocoa_crash(
            frames, type_="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS", mechanism="mach"
        )

    ios_16 = group(
        on_queue(["_dispatch_root_queue_drain", "_dispatch_async_redirect_invoke"]),
        V2,
        explain=True,
    )
    ios_17 = group(on_queue(["_dispatch_lane_serial_drain", "_dispatch_lane_invoke"]), V2)
    assert functions(ios_16, "system") == [
        "__34-[SyncManager start]_block_invoke",
        "-[SyncManager upload:]",
    ]
    assert ios_16.hashes[-1] == ios_17.hashes[-1]  # the system variant too
