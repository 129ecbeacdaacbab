"""GraphMonitor over a real rclpy graph (this test process): the nodes on each topic, kept after
they have gone, and which topics it counts with and without topic_stats."""

import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String

from lsv_bringup.graph_monitor import NOT_COUNTED_LARGE, GraphMonitor, endpoint_nodes
from lsv_common.testing import spin_until


@pytest.fixture
def monitor_factory():
    monitors = []

    def make(**kw):
        monitors.append(GraphMonitor(discover_period_s=0.1, **kw))
        return monitors[-1]

    yield make
    for m in monitors:
        m.close()


@pytest.mark.parametrize("topic_stats", [False, True])
def test_nodes_on_each_topic_and_what_is_counted(ros_node, monitor_factory, topic_stats):
    monitor = monitor_factory(topic_stats=topic_stats)
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    chatter = ros_node.create_publisher(String, "/test/chatter", qos)
    image = ros_node.create_publisher(Image, "/test/image", qos)
    ros_node.create_subscription(String, "/test/chatter", lambda _: None, qos)
    listener = ros_node.create_subscription(Image, "/test/image", lambda _: None, qos)

    def seen() -> bool:
        chatter.publish(String(data="hi"))
        image.publish(Image(height=2, width=2, encoding="mono8", step=2, data=bytes(4)))
        topics = monitor.snapshot().topics
        return ("/test/chatter" in topics and topics["/test/chatter"].count > 2 and "/test/image" in topics
                and topics["/test/image"].subscribers and (not topic_stats or topics["/test/image"].count > 2))

    assert spin_until(ros_node, seen, 20.0, step_s=0.05), monitor.snapshot().topics
    topics = monitor.snapshot().topics
    text, img = topics["/test/chatter"], topics["/test/image"]
    assert text.type_name == "std_msgs/msg/String" and img.type_name == "sensor_msgs/msg/Image"
    assert text.publishers == text.subscribers == img.publishers == img.subscribers == {"/test_observer"}
    assert not text.not_counted  # small messages are always counted
    if topic_stats:
        assert not img.not_counted and img.count > 2 and img.bytes > 0
    else:
        assert img.not_counted == NOT_COUNTED_LARGE and img.count == 0

    # a subscriber that has gone stays listed (a node that exited before the report)
    ros_node.destroy_subscription(listener)
    ros_node.destroy_publisher(image)
    def gone() -> bool:  # as the monitor's node sees the graph
        return not (endpoint_nodes(monitor.node.get_publishers_info_by_topic("/test/image"))
                    or endpoint_nodes(monitor.node.get_subscriptions_info_by_topic("/test/image")))

    assert spin_until(ros_node, gone, 10.0)
    spin_until(ros_node, lambda: False, 0.5)  # a few more discovery passes
    img = monitor.snapshot().topics["/test/image"]
    assert img.publishers == img.subscribers == {"/test_observer"}
