"""Built-in rules of grouping version v1. Data: never edit in place; add a version.

Modelled on Sentry's built-in enhancements `newstyle@2023-01-11` (a subset of
its ~430 rules: the ones that decide in-app-ness and drop crash machinery for
the platforms SDKs send without in-app flags, i.e. native, Rust and
JavaScript dependencies) and its built-in fingerprint rules
`javascript@2024-02-02` (ChunkLoadError and React hydration errors).
"""

ENHANCEMENTS = r"""
## Native: system libraries are not application code
family:native package:/lib/**                                   -app
family:native package:/usr/lib/**                               -app
family:native package:/lib64/**                                 -app
family:native package:/System/Library/**                        -app
family:native package:/Developer/**                             -app
family:native package:**/libswift*.dylib                        -app
family:native package:**/linux-gate.so*                         -app
family:native package:**/linux-vdso.so*                         -app
family:native package:c:/windows/**                             -app
family:native package:**/ntdll.dll                              -app
family:native package:**/kernel32.dll                           -app
family:native package:**/kernelbase.dll                         -app
family:native package:**/ucrtbase.dll                           -app
family:native package:**/vcruntime*.dll                         -app

## Rust standard library
family:native function:std::*                                   -app
family:native function:core::*                                  -app
family:native function:alloc::*                                 -app
family:native function:__rust_*                                 -app
family:native function:backtrace::*                             -app -group
family:native function:sentry::*                                -app -group
family:native function:sentry_core::*                           -app -group
family:native function:sentry_backtrace::*                      -app -group
family:native function:sentry_panic::*                          -app -group

## Rust panics: the frames from the panic machinery on do not describe the bug
family:native function:std::panicking::begin_panic              ^-app -app ^-group -group
family:native function:std::panicking::begin_panic_fmt          ^-app -app ^-group -group
family:native function:core::panicking::panic                   ^-app -app ^-group -group
family:native function:core::panicking::panic_fmt               ^-app -app ^-group -group
family:native function:core::panicking::panic_bounds_check      ^-app -app ^-group -group
family:native function:core::panicking::panic_display           ^-app -app ^-group -group
family:native function:core::result::unwrap_failed              ^-app -app ^-group -group
family:native function:core::option::unwrap_failed              ^-app -app ^-group -group
family:native function:core::option::expect_failed              ^-app -app ^-group -group
family:native function:rust_begin_unwind                        ^-app -app ^-group -group
family:native function:failure::backtrace::Backtrace::new       ^-app -app ^-group -group
family:native function:error_chain::make_backtrace              ^-app -app ^-group -group

## C and C++ runtime: throwing, aborting and process start-up
family:native function:_CxxThrowException                       ^-app -app ^-group -group
family:native function:__cxa_throw                              ^-app -app ^-group -group
family:native function:__cxa_rethrow                            ^-app -app ^-group -group
family:native function:std::terminate                           ^-app -app ^-group -group
family:native function:__assert_rtn                             ^-app -app ^-group -group
family:native function:__assert_fail                            ^-app -app ^-group -group
family:native function:_assert                                  ^-app -app ^-group -group
family:native function:_wassert                                 ^-app -app ^-group -group
family:native function:abort                                    ^-app -app ^-group -group
family:native function:__GI_abort                               ^-app -app ^-group -group
family:native function:raise                                    ^-app -app ^-group -group
family:native function:__GI_raise                               ^-app -app ^-group -group
family:native function:gsignal                                  ^-app -app ^-group -group
family:native function:__pthread_kill*                          ^-app -app ^-group -group
family:native function:pthread_kill                             ^-app -app ^-group -group
family:native function:_start                                   -app -group
family:native function:__libc_start_main                        -app -group
family:native function:__libc_start_call_main                   -app -group
family:native function:RtlUserThreadStart                       -app -group
family:native function:BaseThreadInitThunk                      -app -group

## Objective-C / Swift exceptions and the crash reporter's own frames
family:native function:objc_exception_throw                     ^-app -app ^-group -group
family:native function:"-[NSException raise]"                   ^-app -app ^-group -group
family:native function:__exceptionPreprocess                    ^-app -app ^-group -group
family:native function:_NSRaiseError                            ^-app -app ^-group -group
family:native function:swift_unexpectedError                    ^-app -app ^-group -group
family:native function:_assertionFailure*                       ^-app -app ^-group -group
family:native function:_mh_execute_header                       -app -group
family:native function:kscm_*                                   -app -group
family:native function:kscrash*                                 -app -group
family:native function:sentrycrash*                             -app -group
family:native function:SentryCrash*                             -app -group
family:native package:**/Sentry.framework/**                    -app -group
family:native function:google_breakpad::*                       -app -group
family:native function:crashpad::*                              -app -group

## JavaScript: dependencies, browser extensions, the SDK itself
family:javascript path:**/node_modules/**                       -app
family:javascript path:**/bower_components/**                   -app
family:javascript path:webpack:///node_modules/**               -app
family:javascript path:node:*                                   -app
family:javascript path:internal/**                              -app
family:javascript path:chrome-extension:*                       -app
family:javascript path:moz-extension:*                          -app
family:javascript path:safari-extension:*                       -app
family:javascript path:safari-web-extension:*                   -app
family:javascript module:@sentry/*                              -app -group
family:javascript path:**/@sentry/**                            -app -group
family:javascript function:sentryWrapped                        -app -group

## JVM: platform and common libraries
module:java.*                                                   -app
module:javax.*                                                  -app
module:jdk.*                                                    -app
module:sun.*                                                    -app
module:com.sun.*                                                -app
module:kotlin.*                                                 -app
module:kotlinx.*                                                -app
module:android.*                                                -app
module:androidx.*                                               -app
module:com.android.*                                            -app
module:dalvik.*                                                 -app
module:libcore.*                                                -app
module:io.sentry.*                                              -app -group
"""

_REACT_HYDRATION_MESSAGES = (
    "*https://reactjs.org/docs/error-decoder.html?invariant={418,419,422,423,425}*",
    "*https://react.dev/errors/{418,419,422,423,425}*",
)
FINGERPRINTS = "\n".join(
    [
        "# Webpack chunk loading failures are one problem, whatever the chunk.",
        "family:javascript type:ChunkLoadError -> chunkloaderror",
        "# React hydration errors: one issue per transaction.",
        *(
            f'family:javascript tags.transaction:"*" message:"{message}"'
            " -> hydrationerror, {{tags.transaction}}"
            for message in _REACT_HYDRATION_MESSAGES
        ),
    ]
)
