/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one source of the Perfetto protobuf numbers mmlock writes. Each line
 * names its message and field (or enum value) in tests/perfetto/mini.proto,
 * the subset of Perfetto's protos/perfetto/trace/perfetto_trace.proto that
 * protoc decodes our traces with; tests/integration/perfetto_fields.sh checks
 * every number here against it.
 */
#ifndef MMLOCK_PERFETTO_FIELDS_H
#define MMLOCK_PERFETTO_FIELDS_H

#define TRACE_PACKET		1	/* Trace.packet */

#define TP_CLOCK_SNAPSHOT	6	/* TracePacket.clock_snapshot */
#define TP_TIMESTAMP		8	/* TracePacket.timestamp */
#define TP_SEQ_ID		10	/* TracePacket.trusted_packet_sequence_id */
#define TP_TRACK_EVENT		11	/* TracePacket.track_event */
#define TP_SEQ_FLAGS		13	/* TracePacket.sequence_flags */
#define TP_TRACK_DESCRIPTOR	60	/* TracePacket.track_descriptor */
#define TP_FIRST_ON_SEQ		87	/* TracePacket.first_packet_on_sequence */

#define CS_CLOCKS		1	/* ClockSnapshot.clocks */
#define CS_PRIMARY_CLOCK	2	/* ClockSnapshot.primary_trace_clock */
#define CLOCK_ID		1	/* ClockSnapshot.Clock.clock_id */
#define CLOCK_TIMESTAMP		2	/* ClockSnapshot.Clock.timestamp */

#define TD_UUID			1	/* TrackDescriptor.uuid */
#define TD_NAME			2	/* TrackDescriptor.name */
#define TD_PROCESS		3	/* TrackDescriptor.process */
#define TD_THREAD		4	/* TrackDescriptor.thread */
#define TD_PARENT		5	/* TrackDescriptor.parent_uuid */
#define TD_COUNTER		8	/* TrackDescriptor.counter */
#define TD_CHILD_ORDERING	11	/* TrackDescriptor.child_ordering */
#define TD_SIBLING_RANK		12	/* TrackDescriptor.sibling_order_rank */
#define TD_DESCRIPTION		14	/* TrackDescriptor.description */
#define TD_SIBLING_MERGE	15	/* TrackDescriptor.sibling_merge_behavior */

#define PD_PID			1	/* ProcessDescriptor.pid */
#define PD_NAME			6	/* ProcessDescriptor.process_name */

#define THD_PID			1	/* ThreadDescriptor.pid */
#define THD_TID			2	/* ThreadDescriptor.tid */
#define THD_NAME		5	/* ThreadDescriptor.thread_name */

#define CD_UNIT			3	/* CounterDescriptor.unit */
#define CD_UNIT_NAME		6	/* CounterDescriptor.unit_name */
#define CD_Y_AXIS_SHARE_KEY	7	/* CounterDescriptor.y_axis_share_key */

#define TE_ANNOTATION		4	/* TrackEvent.debug_annotations */
#define TE_TYPE			9	/* TrackEvent.type */
#define TE_TRACK_UUID		11	/* TrackEvent.track_uuid */
#define TE_CATEGORY		22	/* TrackEvent.categories */
#define TE_NAME			23	/* TrackEvent.name */
#define TE_COUNTER_VALUE	30	/* TrackEvent.counter_value */
#define TE_DOUBLE_COUNTER_VALUE	44	/* TrackEvent.double_counter_value */

#define DA_BOOL			2	/* DebugAnnotation.bool_value */
#define DA_UINT			3	/* DebugAnnotation.uint_value */
#define DA_INT			4	/* DebugAnnotation.int_value */
#define DA_STRING		6	/* DebugAnnotation.string_value */
#define DA_POINTER		7	/* DebugAnnotation.pointer_value */
#define DA_NAME			10	/* DebugAnnotation.name */
#define DA_DICT			11	/* DebugAnnotation.dict_entries */
#define DA_ARRAY		12	/* DebugAnnotation.array_values */

/* Enum values. */
#define TYPE_SLICE_BEGIN	1	/* TrackEvent.Type.TYPE_SLICE_BEGIN */
#define TYPE_SLICE_END		2	/* TrackEvent.Type.TYPE_SLICE_END */
#define TYPE_INSTANT		3	/* TrackEvent.Type.TYPE_INSTANT */
#define TYPE_COUNTER		4	/* TrackEvent.Type.TYPE_COUNTER */
#define UNIT_TIME_NS		1	/* CounterDescriptor.Unit.UNIT_TIME_NS */
#define UNIT_COUNT		2	/* CounterDescriptor.Unit.UNIT_COUNT */
#define CHILD_ORDER_EXPLICIT	3	/* TrackDescriptor.ChildTracksOrdering.EXPLICIT */
#define MERGE_NONE		2	/* TrackDescriptor.SiblingMergeBehavior.SIBLING_MERGE_BEHAVIOR_NONE */

/*
 * Values of plain uint32 fields in mini.proto (Perfetto's BuiltinClock and
 * TracePacket.SequenceFlags enums, which the subset does not spell out).
 */
#define CLK_REALTIME		1	/* BuiltinClock BUILTIN_CLOCK_REALTIME */
#define CLK_MONOTONIC		3	/* BuiltinClock BUILTIN_CLOCK_MONOTONIC */
#define CLK_BOOTTIME		6	/* BuiltinClock BUILTIN_CLOCK_BOOTTIME */
#define SEQ_INCREMENTAL_STATE_CLEARED 1	/* TracePacket.SequenceFlags SEQ_INCREMENTAL_STATE_CLEARED */

#endif
