"""Built-in rules of grouping version v2. Data: never edit in place; add a version.

Modelled on Sentry's built-in enhancements `newstyle@2023-01-11` and written
in its rule language. In order:

1. in-app: which frames are the application's (native app bundles, system
   libraries, Rust, JVM and JavaScript dependencies, the Dart SDK);
2. categories: native, Apple and JVM frames are sorted into `category=`
   system, std, ui, threadbase, indirection, internals, throw, malloc, gl,
   driver and telemetry (a later rule overrides an earlier one);
3. grouping: the categories decide what contributes, for every family
   (frames of platforms without categories are untouched):
   - a thread base and everything that called it never counts;
   - wrappers (indirection: `operator()`, lambdas, std::function, `.cold`
     clones, reflection) and runtime internals never count;
   - the first frame that throws, aborts or panics counts, what it calls does
     not;
   - in a chain of C++ standard library, allocator, graphics API or graphics
     driver frames only the entry (the frame the caller called) counts;
   plus the few frame rules per platform (transpiler helpers, Node's task
   queues, the Dart SDK).

The Sentry SDKs' Rust, JavaScript and native C frames are out of app but
still count, as in Sentry (v1 ignored the Rust and JavaScript ones); the
crash reporters' machinery (SentryCrash/KSCrash, crashpad, breakpad) does not
count. Throw frames are not dropped themselves (v1 dropped `abort`, `raise`,
`std::terminate`, `pthread_kill`).

Built-in fingerprint rules are Sentry's `javascript@2024-02-02`: webpack's
ChunkLoadError is one issue, React hydration errors one issue per transaction,
whether React wrote the message out (development builds and React 18's
production messages) or as a link to its error decoder (v1 knew only the
links).
"""

_IN_APP = r"""
## ---- in app ---------------------------------------------------------------

## Native: iOS, simulator and macOS app bundles are the application's
family:native package:/var/containers/Bundle/Application/**          +app
family:native package:/private/var/containers/Bundle/Application/**  +app
family:native package:**/Developer/CoreSimulator/Devices/**          +app
family:native package:**/Containers/Bundle/Application/**            +app

## Native: well-known locations of system libraries
family:native package:/lib/**                                   -app
family:native package:/lib64/**                                 -app
family:native package:/usr/lib/**                               -app
family:native package:/usr/lib64/**                             -app
family:native path:/usr/local/lib/**                            -app
family:native path:/usr/local/Cellar/**                         -app
family:native package:linux-gate.so*                            -app
family:native package:linux-vdso.so*                            -app
family:native package:/system/**                                -app
family:native package:/apex/**                                  -app
family:native package:/vendor/**                                -app
family:native package:c:/windows/**                             -app
family:native package:**/ntdll.dll                              -app
family:native package:**/kernel32.dll                           -app
family:native package:**/kernelbase.dll                         -app
family:native package:**/ucrtbase.dll                           -app
family:native package:**/vcruntime*.dll                         -app

## Native: macOS app bundles and builds under a home directory
family:native package:**.app/Contents/**                        +app
family:native package:/Users/**                                 +app

## Native: Apple system frameworks and libraries, wherever the runtime lives
family:native package:/System/**                                -app
family:native package:/Developer/**                             -app
family:native package:**/*.simruntime/**                        -app
family:native package:**/usr/lib/system/**                      -app
family:native package:**/libswift*.dylib                        -app

## Rust: the standard library and the Sentry SDK are not the application
family:native function:std::*                                   -app
family:native function:core::*                                  -app
family:native function:alloc::*                                 -app
family:native function:__rust_*                                 -app
family:native function:sentry::*                                -app
family:native function:sentry_*::*                              -app
family:native function:backtrace::*                             -app -group

## Rust: panics. What runs after the panic started is not the bug
family:native function:std::panicking::begin_panic              ^-app -app ^-group
family:native function:core::panicking::begin_panic             ^-app -app ^-group
family:native function:failure::backtrace::Backtrace::new       ^-app -app ^-group
family:native function:error_chain::make_backtrace              ^-app -app ^-group

## JavaScript: dependencies, the runtime, browser extensions, the Sentry SDK
family:javascript path:**/node_modules/**                       -app
family:javascript path:**/bower_components/**                   -app
family:javascript path:webpack:///node_modules/**               -app
family:javascript path:node:*                                   -app
family:javascript path:internal/**                              -app
family:javascript path:chrome-extension:*                       -app
family:javascript path:moz-extension:*                          -app
family:javascript path:safari-extension:*                       -app
family:javascript path:safari-web-extension:*                   -app
family:javascript module:@sentry/*                              -app
family:javascript path:**/@sentry/**                            -app

## JVM: the platform, Android, Kotlin and common libraries and frameworks
module:java.*                                                   -app
module:javax.*                                                  -app
module:jdk.*                                                    -app
module:sun.*                                                    -app
module:com.sun.*                                                -app
module:kotlin.*                                                 -app
module:kotlinx.*                                                -app
module:scala.*                                                  -app
module:android.*                                                -app
module:androidx.*                                               -app
module:com.android.*                                            -app
module:com.google.android.*                                     -app
module:dalvik.*                                                 -app
module:libcore.*                                                -app
module:org.apache.*                                             -app
module:org.springframework.*                                    -app
module:org.hibernate.*                                          -app
module:org.eclipse.jetty.*                                      -app
module:org.glassfish.*                                          -app
module:io.netty.*                                               -app
module:io.undertow.*                                            -app
module:reactor.*                                                -app
module:io.reactivex.*                                           -app
module:rx.*                                                     -app
module:okhttp3.*                                                -app
module:okio.*                                                   -app
module:retrofit2.*                                              -app
module:com.squareup.*                                           -app
module:com.fasterxml.*                                          -app
module:com.google.gson.*                                        -app
module:com.google.common.*                                      -app
module:org.json.*                                               -app
module:org.slf4j.*                                              -app
module:ch.qos.logback.*                                         -app
module:org.chromium.*                                           -app
module:com.facebook.react.*                                     -app
module:io.sentry.*                                              -app -group

## Dart: the SDK's own libraries (native and compiled to JavaScript)
path:dart:**                                                    -app -group
path:org-dartlang-sdk:///**                                     -app -group
"""

_CATEGORIES = r"""
## ---- categories -----------------------------------------------------------

## system: operating system libraries
family:native package:/lib/**                                   category=system
family:native package:/lib64/**                                 category=system
family:native package:/usr/lib/**                               category=system
family:native package:/usr/lib64/**                             category=system
family:native package:linux-gate.so*                            category=system
family:native package:linux-vdso.so*                            category=system
family:native package:/system/**                                category=system
family:native package:/apex/**                                  category=system
family:native package:c:/windows/**                             category=system
family:native package:/System/**                                category=system
family:native package:**/*.simruntime/**                        category=system
family:native package:**/usr/lib/system/**                      category=system
module:java.*                                                   category=system
module:javax.*                                                  category=system
module:jdk.*                                                    category=system
module:sun.*                                                    category=system
module:android.*                                                category=system
module:com.android.*                                            category=system
module:dalvik.*                                                 category=system
module:libcore.*                                                category=system

## std: the C++ and Rust standard libraries
family:native package:**/libc++*                                category=std
family:native package:**/libstdc++*                             category=std
family:native package:**/libc++abi*                             category=std
family:native package:**/msvcp*.dll                             category=std
family:native function:std::*                                   category=std
family:native function:__gnu_cxx::*                             category=std
family:native function:__cxxabiv1::*                            category=std
family:native function:core::*                                  category=std
family:native function:alloc::*                                 category=std

## ui: Apple's and Android's UI frameworks
family:native package:**/UIKitCore.framework/**                 category=ui
family:native package:**/UIKit.framework/**                     category=ui
family:native package:**/AppKit.framework/**                    category=ui
family:native package:**/SwiftUI.framework/**                   category=ui
family:native package:**/QuartzCore.framework/**                category=ui
family:native function:UIApplicationMain                        category=ui
family:native function:NSApplicationMain                        category=ui
family:native function:-[UI*                                    category=ui
family:native function:"-[NS*Window *"                          category=ui
module:android.view.*                                           category=ui
module:android.widget.*                                         category=ui
module:androidx.compose.ui.*                                    category=ui

## malloc: allocators
family:native package:**/libsystem_malloc.dylib                 category=malloc
family:native function:malloc                                   category=malloc
family:native function:calloc                                   category=malloc
family:native function:realloc                                  category=malloc
family:native function:reallocf                                 category=malloc
family:native function:free                                     category=malloc
family:native function:valloc                                   category=malloc
family:native function:memalign                                 category=malloc
family:native function:posix_memalign                           category=malloc
family:native function:aligned_alloc                            category=malloc
family:native function:"operator new*"                          category=malloc
family:native function:"operator delete*"                       category=malloc
family:native function:__libc_malloc                            category=malloc
family:native function:__libc_calloc                            category=malloc
family:native function:__libc_realloc                           category=malloc
family:native function:__libc_free                              category=malloc
family:native function:_int_malloc                              category=malloc
family:native function:_int_free                                category=malloc
family:native function:_int_realloc                             category=malloc
family:native function:malloc_*                                 category=malloc
family:native function:_malloc_*                                category=malloc
family:native function:_free_*                                  category=malloc
family:native function:szone_*                                  category=malloc
family:native function:nanov2_*                                 category=malloc
family:native function:tiny_*                                   category=malloc
family:native function:small_*                                  category=malloc
family:native function:je_*                                     category=malloc
family:native function:tc_*                                     category=malloc
family:native function:mi_*                                     category=malloc
family:native function:scudo::*                                 category=malloc
family:native function:HeapAlloc                                category=malloc
family:native function:HeapFree                                 category=malloc
family:native function:HeapReAlloc                              category=malloc
family:native function:RtlAllocateHeap                          category=malloc
family:native function:RtlFreeHeap                              category=malloc
family:native function:RtlReAllocateHeap                        category=malloc
family:native function:__rust_alloc*                            category=malloc
family:native function:__rust_dealloc                           category=malloc
family:native function:__rust_realloc                           category=malloc
family:native function:alloc::alloc::*                          category=malloc

## gl: graphics APIs
family:native package:**/libGL.so*                              category=gl
family:native package:**/libGLX*.so*                            category=gl
family:native package:**/libGLES*.so                            category=gl
family:native package:**/libEGL*.so                             category=gl
family:native package:**/libvulkan.so*                          category=gl
family:native package:**/OpenGLES.framework/**                  category=gl
family:native package:**/OpenGL.framework/**                    category=gl
family:native package:**/Metal.framework/**                     category=gl
family:native package:**/opengl32.dll                           category=gl
family:native package:**/vulkan-1.dll                           category=gl
family:native package:**/d3d9.dll                               category=gl
family:native package:**/d3d11.dll                              category=gl
family:native package:**/d3d12.dll                              category=gl
family:native package:**/dxgi.dll                               category=gl

## driver: graphics drivers (vendor code, different on every device)
family:native package:/vendor/lib*/egl/**                       category=driver
family:native package:/vendor/lib*/hw/**                        category=driver
family:native package:**/libGLES_mali.so                        category=driver
family:native package:**/libGLESv2_adreno.so                    category=driver
family:native package:**/libGLESv1_CM_adreno.so                 category=driver
family:native package:**/libEGL_adreno.so                       category=driver
family:native package:**/libllvm-glnext.so                      category=driver
family:native package:**/libgsl.so                              category=driver
family:native package:**/libnvidia-*.so*                        category=driver
family:native package:**/*_dri.so                               category=driver
family:native package:**/nvoglv*.dll                            category=driver
family:native package:**/nvwgf2um*.dll                          category=driver
family:native package:**/nvd3dum*.dll                           category=driver
family:native package:**/atio6axx.dll                           category=driver
family:native package:**/atidxx*.dll                            category=driver
family:native package:**/amdxc*.dll                             category=driver
family:native package:**/ig*icd*.dll                            category=driver
family:native package:**/igd*umd*.dll                           category=driver
family:native package:/System/Library/Extensions/**             category=driver

## telemetry: crash reporters and the Sentry SDKs (out of app; they still count)
family:native function:sentry_*  !function:*::*                 category=telemetry
family:native function:crashpad::*                              category=telemetry
family:native function:google_breakpad::*                       category=telemetry
family:native function:kscrash*                                 category=telemetry
family:native function:kscm_*                                   category=telemetry
family:native function:sentrycrash*                             category=telemetry
family:native function:SentryCrash*                             category=telemetry
family:native function:FIRCLS*                                  category=telemetry
family:native function:plcrash*                                 category=telemetry
family:native package:**/Sentry.framework/**                    category=telemetry
family:native package:**/FirebaseCrashlytics.framework/**       category=telemetry
family:native package:**/libsentry.so                           category=telemetry
family:native package:**/sentry.dll                             category=telemetry
family:native category:telemetry                                -app
## ... and the crash reporters' own machinery never counts
family:native function:kscm_*                                   -group
family:native function:kscrash*                                 -group
family:native function:sentrycrash*                             -group
family:native function:SentryCrash*                             -group
family:native package:**/Sentry.framework/**                    -group
family:native function:google_breakpad::*                       -group
family:native function:crashpad::*                              -group
family:native function:_mh_execute_header                       -app -group

## internals: language runtimes and out-of-app machinery
family:native package:**/libart.so                              category=internals
family:native function:art::*                                   category=internals
family:native function:art_quick_*                              category=internals
family:native function:art_jni_*                                category=internals
family:native function:ExecuteMterpImpl                         category=internals
family:native function:MterpInvoke*                             category=internals
family:native function:nterp_*                                  category=internals
family:native function:_dispatch_*                              category=internals
family:native function:__CFRUNLOOP_IS_*                         category=internals
family:native function:__CFRunLoop*                             category=internals
family:native function:*_block_invoke* app:no                   category=internals
module:kotlinx.coroutines.*                                     category=internals
module:kotlin.coroutines.*                                      category=internals

## indirection: wrappers that only pass the call on
family:native function:*operator()                              category=indirection
family:native function:*lambda*                                 category=indirection
family:native function:*.cold                                   category=indirection
family:native function:*.cold.*                                 category=indirection
family:native function:std::__invoke*                           category=indirection
family:native function:std::*::__invoke*                        category=indirection
family:native function:std::invoke*                             category=indirection
family:native function:std::__function::*                       category=indirection
family:native function:std::*::__function::*                    category=indirection
family:native function:std::_Function_handler*                  category=indirection
family:native function:std::function<T>::operator()             category=indirection
family:native function:std::*::function<T>::operator()          category=indirection
family:native function:std::_Func_impl*                         category=indirection
family:native function:core::ops::function::*                   category=indirection
family:native function:objc_msgSend*                            category=indirection
family:native function:__invoking___                            category=indirection
family:native function:"-[NSInvocation invoke*"                 category=indirection
family:native function:_CallValueAccessor*                      category=indirection
module:java.lang.reflect.*                                      category=indirection
module:sun.reflect.*                                            category=indirection
module:jdk.internal.reflect.*                                   category=indirection
module:kotlin.reflect.*                                         category=indirection

## throw: throwing, aborting, asserting, panicking
family:native function:__cxa_throw                              category=throw
family:native function:__cxa_rethrow                            category=throw
family:native function:_CxxThrowException                       category=throw
family:native function:RaiseException                           category=throw
family:native function:std::__throw_*                           category=throw
family:native function:std::*::__throw_*                        category=throw
family:native function:std::terminate                           category=throw
family:native function:std::__terminate                         category=throw
family:native function:std::*::terminate                        category=throw
family:native function:__cxxabiv1::__terminate*                 category=throw
family:native function:objc_exception_throw                     category=throw
family:native function:objc_exception_rethrow                   category=throw
family:native function:_objc_terminate*                         category=throw
family:native function:"-[NSException raise]"                   category=throw
family:native function:"+[NSException raise:format:]"          category=throw
family:native function:_CFThrowFormattedException               category=throw
family:native function:_NSRaiseError                            category=throw
family:native function:swift_unexpectedError*                   category=throw
family:native function:_assertionFailure*                       category=throw
family:native function:_fatalErrorMessage*                      category=throw
family:native function:abort                                    category=throw
family:native function:__GI_abort                               category=throw
family:native function:__abort*                                 category=throw
family:native function:abort_with_payload                       category=throw
family:native function:raise                                    category=throw
family:native function:__GI_raise                               category=throw
family:native function:gsignal                                  category=throw
family:native function:pthread_kill                             category=throw
family:native function:__pthread_kill*                          category=throw
family:native function:__assert_rtn                             category=throw
family:native function:__assert_fail*                           category=throw
family:native function:_assert                                  category=throw
family:native function:_wassert                                 category=throw
family:native function:__stack_chk_fail                         category=throw
family:native function:__chk_fail                               category=throw
family:native function:__fortify_fail*                          category=throw
family:native function:std::panicking::*                        category=throw
family:native function:core::panicking::*                       category=throw
family:native function:core::result::unwrap_failed              category=throw
family:native function:core::option::unwrap_failed              category=throw
family:native function:core::option::expect_failed              category=throw
family:native function:rust_begin_unwind                        category=throw
family:native function:rust_panic*                              category=throw
family:native function:panic_abort::*                           category=throw

## threadbase: where a thread (or the process) starts
family:native function:_start                                   category=threadbase
family:native function:start_thread                             category=threadbase
family:native function:thread_start*                            category=threadbase
family:native function:__start_thread                           category=threadbase
family:native function:_pthread_start                           category=threadbase
family:native function:__pthread_start                          category=threadbase
family:native function:_pthread_body                            category=threadbase
family:native function:start_wqthread                           category=threadbase
family:native function:_pthread_wqthread                        category=threadbase
family:native function:__NSThread__start__                      category=threadbase
family:native function:_dispatch_worker_thread*                 category=threadbase
family:native function:_dispatch_workloop_worker_thread         category=threadbase
family:native function:__libc_start_main                        category=threadbase
family:native function:__libc_start_call_main                   category=threadbase
family:native function:RtlUserThreadStart                       category=threadbase
family:native function:_RtlUserThreadStart                      category=threadbase
family:native function:BaseThreadInitThunk                      category=threadbase
family:native function:invoke_main                              category=threadbase
family:native function:__scrt_common_main*                      category=threadbase
family:native function:*mainCRTStartup                          category=threadbase
family:native function:*MainCRTStartup                          category=threadbase
family:native function:std::thread::_State_impl*                category=threadbase
family:native function:std::*::__thread_proxy*                  category=threadbase
family:native function:std::sys::*::thread::*::thread_start     category=threadbase
family:native function:std::rt::lang_start*                     category=threadbase
module:java.lang.Thread function:run                            category=threadbase
module:java.util.concurrent.ThreadPoolExecutor* function:run*   category=threadbase
module:java.util.concurrent.ForkJoinWorkerThread function:run   category=threadbase
module:android.os.Looper function:loop*                         category=threadbase
module:android.app.ActivityThread function:main                 category=threadbase
module:com.android.internal.os.* function:main                  category=threadbase
module:kotlinx.coroutines.scheduling.* function:run*            category=threadbase
"""

_GROUPING = r"""
## ---- grouping ---------------------------------------------------------------

## A thread base and its callers never describe the bug
category:threadbase                                             v-group -group

## Wrappers and runtime internals only pass calls on
category:indirection                                            -group
category:internals                                              -group

## The first frame that throws counts, the machinery it calls does not
category:throw                                                  ^-group

## In a chain of library frames only the entry point counts
[ category:std ] | category:std                                 -group
[ category:malloc ] | category:malloc                           -group
[ category:gl ] | category:gl                                   -group
[ category:driver ] | category:driver                           -group

## JavaScript: transpiler helpers, polyfills and Node's task queues
family:javascript path:**/node_modules/@babel/**                -group
family:javascript path:**/node_modules/core-js/**               -group
family:javascript path:**/node_modules/regenerator-runtime/**   -group
family:javascript path:**/node_modules/tslib/**                 -group
family:javascript module:@babel/*                               -group
family:javascript module:core-js/*                              -group
family:javascript module:regenerator-runtime/*                  -group
family:javascript module:tslib*                                 -group
family:javascript function:*processTicksAndRejections           -group
family:javascript function:runMicrotasks                        -group
family:javascript function:*processTimers                       -group
family:javascript function:*listOnTimeout                       -group
family:javascript function:*processImmediate                    -group
family:javascript function:*_tickCallback                       -group
"""

ENHANCEMENTS = _IN_APP + _CATEGORIES + _GROUPING

_HYDRATION_MESSAGES = (
    "Text content does not match server-rendered HTML.",
    "Hydration failed because the initial UI does not match what was rendered on the server.",
    "There was an error while hydrating. Because the error happened outside of a Suspense "
    "boundary, the entire root will switch to client rendering.",
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
            for message in _HYDRATION_MESSAGES
        ),
    ]
)

__all__ = ["ENHANCEMENTS", "FINGERPRINTS"]
