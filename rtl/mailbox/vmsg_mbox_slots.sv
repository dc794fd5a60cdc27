// Slot FIFO of one mailbox direction (docs/architecture.md, "Mailbox").
//
// A vmsg_sdp_ram of SLOTS = DEPTH + 1 slots of MSG_SIZE / 4 words, a write and
// a read slot pointer and the count of queued messages. The slot at the write
// pointer is the writer's staging slot: never part of the queue, written word
// by word (wr_*) and queued by push_i. The slot at the read pointer is the
// oldest queued message (when count_o is not 0), read word by word (rd_*) and
// released by pop_i. Each slot's written length, and its first 8 bytes (a
// waveform tap that nothing reads, removed by synthesis), are kept in small
// memories written at push.
//
// Rules for the user (assumptions below): push_i only when not full_o, pop_i
// only when count_o is not 0. A push and a pop may come in one cycle.
//
// Timing: count_o, full_o and head_len_o come from flops (count_next_o is
// count_o with this cycle's push and pop, through one adder) (head_len_o through
// a SLOTS-way mux of the length memory); a push or pop shows in them the next
// cycle. rd_data_o holds the word two cycles after rd_re_i (the RAM's read
// register and its output register). The staging slot is never the read
// slot, so a write and a read never meet on one word.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_mbox_slots #(
  parameter int unsigned MSG_SIZE = 64,                    // bytes per slot: multiple of 4, 8..256
  parameter int unsigned DEPTH    = 8,                     // messages queued at most: 2..255
  localparam int unsigned WORDS   = MSG_SIZE / 4,          // words per slot
  localparam int unsigned WIDX_W  = $clog2(WORDS),         // word index within a slot
  localparam int unsigned CNT_W   = 9                      // counts up to 255 (+1 event at the reader)
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,
  // staging slot: write one word (byte enables), queue the slot
  input  wire logic              wr_we_i,
  input  wire logic [WIDX_W-1:0] wr_widx_i,
  input  wire logic [31:0]       wr_wdata_i,
  input  wire logic [3:0]        wr_wbe_i,
  input  wire logic              push_i,
  input  wire logic [8:0]        push_len_i,    // HEAD_LEN of the queued message
  input  wire logic [63:0]       push_hdr_i,    // its first 8 bytes (waveform tap)
  // oldest queued slot: read one word, release the slot
  input  wire logic              rd_re_i,
  input  wire logic [WIDX_W-1:0] rd_widx_i,
  output      logic [31:0]       rd_data_o,     // two cycles after rd_re_i
  input  wire logic              pop_i,
  // state
  output      logic [CNT_W-1:0]  count_o,       // messages queued
  output      logic [CNT_W-1:0]  count_next_o,  // ... after this cycle's push and pop
  output      logic              full_o,        // count_o == DEPTH
  output      logic [8:0]        head_len_o,    // HEAD_LEN of the oldest (when count_o != 0)
  output      logic [63:0]       head_hdr_o     // its first 8 bytes (waveform tap)
);

  localparam int unsigned SLOTS     = DEPTH + 1;               // queue + staging slot
  localparam int unsigned RAM_WORDS = SLOTS * WORDS;
  localparam int unsigned RAM_AW    = $clog2(RAM_WORDS);
  localparam int unsigned SLOT_W    = $clog2(SLOTS);

  localparam logic [RAM_AW-1:0] SLOT_STRIDE = RAM_AW'(WORDS);
  localparam logic [SLOT_W-1:0] LAST_SLOT   = SLOT_W'(SLOTS - 1);
  localparam logic [CNT_W-1:0]  DEPTH_CNT   = CNT_W'(DEPTH);

  if (MSG_SIZE % 4 != 0 || MSG_SIZE < 8 || MSG_SIZE > 256 || DEPTH < 2 || DEPTH > 255)
  begin : g_bad_params
    $fatal(1, "vmsg_mbox_slots: MSG_SIZE %0d (multiple of 4, 8..256) or DEPTH %0d (2..255) out of range",
           MSG_SIZE, DEPTH);
  end

  logic [CNT_W-1:0]  count_q;
  logic [SLOT_W-1:0] wr_slot_q, rd_slot_q;
  logic [RAM_AW-1:0] wr_base_q, rd_base_q;    // first RAM word of the staging / oldest slot
  // HEAD_LEN of each slot and the header tap: small memories, no reset (read only for queued slots)
  logic [8:0]        len_q [SLOTS];
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0]       hdr_q [SLOTS];
  /* verilator lint_on UNUSEDSIGNAL */

  vmsg_sdp_ram #(
    .WORDS   (RAM_WORDS),
    .DATA_W  (32),
    .OUT_REG (1'b1)
  ) u_ram (
    .clk_i   (clk_i),
    .we_i    (wr_we_i),
    .waddr_i (wr_base_q + RAM_AW'(wr_widx_i)),
    .wdata_i (wr_wdata_i),
    .wbe_i   (wr_wbe_i),
    .re_i    (rd_re_i),
    .raddr_i (rd_base_q + RAM_AW'(rd_widx_i)),
    .rdata_o (rd_data_o)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      count_q   <= '0;
      wr_slot_q <= '0;
      wr_base_q <= '0;
      rd_slot_q <= '0;
      rd_base_q <= '0;
    end else begin
      count_q <= count_next_o;
      if (push_i) begin
        wr_slot_q <= (wr_slot_q == LAST_SLOT) ? '0 : wr_slot_q + 1'b1;
        wr_base_q <= (wr_slot_q == LAST_SLOT) ? '0 : wr_base_q + SLOT_STRIDE;
      end
      if (pop_i) begin
        rd_slot_q <= (rd_slot_q == LAST_SLOT) ? '0 : rd_slot_q + 1'b1;
        rd_base_q <= (rd_slot_q == LAST_SLOT) ? '0 : rd_base_q + SLOT_STRIDE;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (push_i) len_q[wr_slot_q] <= push_len_i;
    if (push_i) hdr_q[wr_slot_q] <= push_hdr_i;
  end

  assign count_o      = count_q;
  assign count_next_o = count_q + CNT_W'(push_i) - CNT_W'(pop_i);
  assign full_o     = (count_q == DEPTH_CNT);
  assign head_len_o = len_q[rd_slot_q];
  assign head_hdr_o = hdr_q[rd_slot_q];

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  `VMSG_ASSUME(a_no_push_full, push_i -> !full_o,
    ("vmsg_mbox_slots: push into a full FIFO"))
  `VMSG_ASSUME(a_no_pop_empty, pop_i -> count_q != '0,
    ("vmsg_mbox_slots: pop of an empty FIFO"))
  `VMSG_ASSERT(a_count_range, count_q <= DEPTH_CNT,
    ("vmsg_mbox_slots: count %0d above DEPTH %0d", count_q, DEPTH))
  `VMSG_ASSERT(a_slot_range, wr_slot_q <= LAST_SLOT && rd_slot_q <= LAST_SLOT
                            && 32'(wr_base_q) == 32'(wr_slot_q) * WORDS && 32'(rd_base_q) == 32'(rd_slot_q) * WORDS,
    ("vmsg_mbox_slots: slot pointer out of range or its base word out of step"))
  `VMSG_ASSERT(a_ptrs_match_count,
      (32'(wr_slot_q) + SLOTS - 32'(rd_slot_q)) % SLOTS == 32'(count_q),
    ("vmsg_mbox_slots: pointers disagree with count"))
`endif

endmodule

`default_nettype wire
