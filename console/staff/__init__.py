"""Staff console (坐席工作台): review queue, ticket page, actions, hotline intake, export."""
