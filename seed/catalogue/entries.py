"""Framework frames above the application code: how each kind of entry point is reached.

Outermost first, as Sentry orders frames. None of these are in-app, so they
only reach the "system" grouping variant; they still make traces look like
production (and test that the grouper ignores them).
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.model import Frame

_PYTHON: dict[str, tuple[Frame, ...]] = {
    "web": (
        f.py_lib(
            "django.core.handlers.exception",
            "inner",
            55,
            "                response = get_response(request)",
        ),
        f.py_lib(
            "django.core.handlers.base",
            "_get_response",
            197,
            "                response = wrapped_callback("
            "request, *callback_args, **callback_kwargs)",
        ),
        f.py_lib(
            "django.views.decorators.csrf",
            "_view_wrapper",
            65,
            "            return view_func(request, *args, **kwargs)",
        ),
        f.py_lib(
            "rest_framework.viewsets",
            "view",
            124,
            "            return self.dispatch(request, *args, **kwargs)",
        ),
        f.py_lib(
            "rest_framework.views",
            "dispatch",
            509,
            "            response = handler(request, *args, **kwargs)",
        ),
    ),
    "worker": (
        f.py_lib(
            "celery.app.trace",
            "trace_task",
            453,
            "                    R = retval = fun(*args, **kwargs)",
        ),
        f.py_lib(
            "celery.app.trace",
            "__protected_call__",
            736,
            "        return self.run(*args, **kwargs)",
        ),
    ),
    "cron": (
        f.py_lib(
            "django.core.management.base",
            "run_from_argv",
            413,
            "            self.execute(*args, **cmd_options)",
        ),
        f.py_lib(
            "django.core.management.base",
            "execute",
            459,
            "        output = self.handle(*args, **options)",
        ),
    ),
}

_NODE: dict[str, tuple[Frame, ...]] = {
    "web": (
        f.node_lib(
            "node_modules/express/lib/router/layer.js",
            "Layer.handle [as handle_request]",
            95,
            5,
            "    fn(req, res, next);",
        ),
        f.node_lib(
            "node_modules/express/lib/router/route.js",
            "next",
            149,
            13,
            "    layer.handle_request(req, res, next);",
        ),
    ),
    "worker": (
        f.node_lib("node:internal/process/task_queues", "process.processTicksAndRejections", 95, 5),
        f.node_lib(
            "node_modules/bullmq/dist/cjs/classes/worker.js",
            "Worker.callProcessJob",
            532,
            24,
            "        return this.processFn(job, token);",
        ),
    ),
    "cron": (
        f.node_lib("node:internal/timers", "listOnTimeout", 581, 17),
        f.node_lib(
            "node_modules/node-cron/src/task.js",
            "Task.execute",
            17,
            27,
            "            return this._task(now);",
        ),
    ),
}

_JAVA_THREAD = f.java("java.lang.Thread", "run", 1583, in_app=False)
_JAVA_REFLECT = f.java("java.lang.reflect.Method", "invoke", 580, in_app=False)
_JAVA: dict[str, tuple[Frame, ...]] = {
    "web": (
        _JAVA_THREAD,
        f.java(
            "org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker", "run", 659, in_app=False
        ),
        f.java("org.apache.catalina.core.ApplicationFilterChain", "doFilter", 140, in_app=False),
        f.java("jakarta.servlet.http.HttpServlet", "service", 658, in_app=False),
        f.java("org.springframework.web.servlet.FrameworkServlet", "service", 885, in_app=False),
        f.java(
            "org.springframework.web.servlet.DispatcherServlet", "doDispatch", 1089, in_app=False
        ),
        f.java(
            "org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter",
            "invokeHandlerMethod",
            920,
            in_app=False,
        ),
        f.java(
            "org.springframework.web.method.support.InvocableHandlerMethod",
            "doInvoke",
            255,
            in_app=False,
        ),
        _JAVA_REFLECT,
    ),
    "worker": (
        _JAVA_THREAD,
        f.java(
            "org.springframework.kafka.listener.KafkaMessageListenerContainer$ListenerConsumer",
            "run",
            1303,
            in_app=False,
        ),
        f.java(
            "org.springframework.kafka.listener.adapter.MessagingMessageListenerAdapter",
            "invokeHandler",
            383,
            in_app=False,
        ),
        _JAVA_REFLECT,
    ),
    "cron": (
        _JAVA_THREAD,
        f.java(
            "java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask",
            "run",
            304,
            in_app=False,
        ),
        f.java(
            "org.springframework.scheduling.support.ScheduledMethodRunnable",
            "run",
            130,
            in_app=False,
        ),
        _JAVA_REFLECT,
    ),
}

_REACT_DOM = "node_modules/react-dom/cjs/react-dom.production.js"
_BROWSER: dict[str, tuple[Frame, ...]] = {
    "web": (
        f.web(
            _REACT_DOM,
            "dispatchDiscreteEvent",
            8471,
            5,
            "    dispatchEvent(domEventName, eventSystemFlags, container, nativeEvent);",
        ),
        f.web(_REACT_DOM, "batchedUpdates$1", 25633, 12, "    return fn(a);"),
        f.web(
            _REACT_DOM,
            "processDispatchQueue",
            9306,
            7,
            "      processDispatchQueueItemsInOrder(event, listeners, inCapturePhase);",
        ),
        f.web(
            _REACT_DOM,
            "executeDispatch",
            9089,
            3,
            "  invokeGuardedCallbackAndCatchFirstError(type, listener, undefined, event);",
        ),
    ),
    "worker": (
        f.web(
            _REACT_DOM, "flushPassiveEffects", 26834, 14, "    return flushPassiveEffectsImpl();"
        ),
        f.web(
            _REACT_DOM, "commitHookEffectListMount", 23189, 26, "        effect.destroy = create();"
        ),
    ),
    "cron": (
        f.web(
            "node_modules/react-router/dist/index.js",
            "callLoaderOrAction",
            4182,
            20,
            "      result = await handler({ request, params, context });",
        ),
    ),
}

ENTRY_FRAMES: dict[str, dict[str, tuple[Frame, ...]]] = {
    "python": _PYTHON,
    "node": _NODE,
    "java": _JAVA,
    "javascript": _BROWSER,
}


def entry_frames(platform: str, entry: str) -> tuple[Frame, ...]:
    return ENTRY_FRAMES[platform][entry]
