"""Staff console (坐席工作台): one module and router per page group, wired by `routes.install`.

`rendering` (templates, label filters, error pages) is at the bottom; `login`, `queue`
(queue + exports), `tickets`, `intake`, `users`, `training` and `taxonomy` build on it.
"""
