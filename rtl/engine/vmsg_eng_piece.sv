// Piece stage: turns accepted elements {queue, ring index} into the pieces the burst builder
// appends, with everything the builder decides on computed here, in registers.
//
//   ingress ─► element FIFO (queue, index) ─► lookup ─► address ─► piece stage ─► burst builder
//
// Lookup stage: the queue's used address and ring size mask, registered. Address stage: the
// element's byte address used + 4 + 8 * (index % size). Piece stage: an
// element is one piece of two 32-bit words, or, when it straddles a 4 KiB boundary, two one-word
// pieces on two cycles (the second one starts the next page). For each piece: whether it
// continues the piece before it (same queue, the next address: the previous piece is the
// queue's previous element, which holds unless the ring wrapped to slot 0; not at a page start),
// the beats it adds to a burst it continues, and the beats of a burst made of it alone.
//
// The FIFO in front decouples the ingress decision from the stalls of the builder: the ingress
// only looks at its (registered) count.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_piece #(
  parameter int unsigned NUM_Q      = 4,    // queues, 1..64
  parameter int unsigned AW         = 32,   // AXI address width
  parameter int unsigned DW         = 64,   // AXI data width
  parameter int unsigned MAX_BEATS  = 256,  // longest element burst in beats, 2..256
  parameter int unsigned FIFO_DEPTH = 4,    // accepted elements waiting for the address stage
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // accepted elements (push; e_full_o from a register compare)
  input  wire                      e_push_i,
  input  wire  [QW-1:0]            e_q_i,
  input  wire  [15:0]              e_idx_i,
  output logic [2:0]               e_room_o,    // [k]: at least k+1 entries free
  // queue configuration
  input  wire  [NUM_Q-1:0][AW-1:0] q_used_i,
  input  wire  [NUM_Q-1:0][4:0]    q_size_log2_i,
  // pieces to the burst builder
  output logic                     p_valid_o,
  output logic [QW-1:0]            p_q_o,
  output logic [AW-1:0]            p_addr_o,    // byte address of the first word
  output logic [1:0]               p_words_o,   // 32-bit words, 1 or 2
  output logic                     p_done_o,    // the piece completes its element
  output logic [15:0]              p_end_o,     // ring index after the element
  output logic                     p_cont_o,    // continues the previous piece
  output logic [1:0]               p_add_o,     // beats added to a burst it continues
  output logic [8:0]               p_beats_o,   // beats of a burst of this piece alone
  output logic [8:0]               p_room_o,    // MAX_BEATS - p_beats_o
  input  wire                      p_ready_i
);

  localparam int unsigned S  = $clog2(DW / 8);  // log2 bytes per beat
  // an accepted element
  typedef struct packed {
    logic [QW-1:0] q;    // its queue
    logic [15:0]   idx;  // its ring index (the queue's accepted count when it was accepted)
  } elem_t;
  localparam int unsigned EW = $bits(elem_t);

  // elaboration-time parameter checks
  if (MAX_BEATS < 2 || MAX_BEATS > 256) begin : g_param_err0
    $fatal(1, "vmsg_eng_piece: MAX_BEATS must be 2..256");
  end

  // ---------------------------------------------------------------------------------------
  // element FIFO
  logic [0:0][EW-1:0] ef_head;
  elem_t              e_in, h_e;
  assign e_in = '{q: e_q_i, idx: e_idx_i};
  logic               ef_empty, ef_pop, ef_full;
  logic [$clog2(FIFO_DEPTH + 1)-1:0] ef_count;
  vmsg_eng_fifo #(.WIDTH(EW), .DEPTH(FIFO_DEPTH), .NRD(1)) u_efifo (
    .clk_i, .rst_ni,
    .push_i  (e_push_i),
    .wdata_i (e_in),
    .pop_i   (ef_pop),
    .rdata_o (ef_head),
    .count_o (ef_count),
    .full_o  (ef_full),
    .empty_o (ef_empty)
  );

  assign h_e = ef_head[0];

  // ---------------------------------------------------------------------------------------
  // lookup stage
  logic          l_valid_q;
  logic [QW-1:0] l_q_q;
  logic [15:0]   l_idx_q, l_mask_q;
  logic [AW-1:0] l_used_q;
  logic          l_take;     // the address stage takes the element in the lookup stage

  assign ef_pop = !ef_empty && (!l_valid_q || l_take);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      l_valid_q <= 1'b0;
      l_q_q     <= '0;
      l_idx_q   <= '0;
      l_mask_q  <= '0;
      l_used_q  <= '0;
    end else if (ef_pop) begin
      l_valid_q <= 1'b1;
      l_q_q     <= h_e.q;
      l_idx_q   <= h_e.idx;
      l_mask_q  <= ~(16'hFFFF << q_size_log2_i[h_e.q]);   // index % size = index & mask
      // (ENABLE refuses a used ring that is not 4-byte aligned; dropping the low bits keeps an
      // element of a queue reconfigured during its reset from making a misaligned piece)
      l_used_q  <= {q_used_i[h_e.q][AW-1:2], 2'b00};
    end else if (l_take) begin
      l_valid_q <= 1'b0;
    end
  end

  // ---------------------------------------------------------------------------------------
  // address stage
  logic          a_valid_q, a_slot0_q;
  logic [QW-1:0] a_q_q;
  logic [AW-1:0] a_addr_q;
  logic [15:0]   a_end_q;
  logic          a_take;     // the piece stage is done with the element in the address stage

  logic [15:0]   l_slot;
  assign l_slot = l_idx_q & l_mask_q;
  assign l_take = l_valid_q && (!a_valid_q || a_take);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_valid_q <= 1'b0;
      a_slot0_q <= 1'b0;
      a_q_q     <= '0;
      a_addr_q  <= '0;
      a_end_q   <= '0;
    end else if (l_take) begin
      a_valid_q <= 1'b1;
      a_slot0_q <= (l_slot == 16'd0);
      a_q_q     <= l_q_q;
      a_addr_q  <= l_used_q + AW'({l_slot, 3'b100});    // used + 4 + 8 * slot
      a_end_q   <= l_idx_q + 16'd1;
    end else if (a_take) begin
      a_valid_q <= 1'b0;
    end
  end

  // ---------------------------------------------------------------------------------------
  // piece stage
  logic          half_q;     // the second (len) half of a straddling element is next
  logic          last_v_q;   // a piece was emitted before ...
  logic [QW-1:0] last_q_q;   // ... of this queue
  logic          straddle, page0, pc_load;
  assign straddle = (a_addr_q[11:0] == 12'hFFC);
  assign page0    = (a_addr_q[11:0] == 12'h000);
  assign pc_load  = a_valid_q && (!p_valid_o || p_ready_i);
  assign a_take   = pc_load && (!straddle || half_q);

  logic [AW-1:0] n_addr;
  logic [1:0]    n_words;
  logic          n_done, n_cont;
  logic [8:0]    n_beats;
  logic [1:0]    n_add;
  always_comb begin
    logic [S:0] last_off;
    logic [S:0] off;
    if (half_q) begin
      // the len word, first word of the next page
      n_addr  = {a_addr_q[AW-1:12] + (AW - 12)'(1), 12'h000};
      n_words = 2'd1;
      n_done  = 1'b1;
      n_cont  = 1'b0;
    end else begin
      n_addr  = a_addr_q;
      n_words = straddle ? 2'd1 : 2'd2;
      n_done  = !straddle;
      n_cont  = last_v_q && (last_q_q == a_q_q) && !a_slot0_q && !page0;
    end
    off      = (S + 1)'(n_addr[S-1:0]);
    last_off = off + (S + 1)'({n_words, 2'b00}) - (S + 1)'(1);
    n_beats  = 9'(last_off >> S) + 9'd1;
    // a continued piece shares its first beat with the previous piece unless it starts a beat
    n_add    = 2'(n_beats) - 2'(off != '0);
  end

  logic          pc_valid_q, pc_done_q, pc_cont_q;
  logic [QW-1:0] pc_q_q;
  logic [AW-1:0] pc_addr_q;
  logic [1:0]    pc_words_q, pc_add_q;
  logic [15:0]   pc_end_q;
  logic [8:0]    pc_beats_q, pc_room_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      half_q     <= 1'b0;
      last_v_q   <= 1'b0;
      last_q_q   <= '0;
      pc_valid_q <= 1'b0;
      pc_done_q  <= 1'b0;
      pc_cont_q  <= 1'b0;
      pc_q_q     <= '0;
      pc_addr_q  <= '0;
      pc_words_q <= '0;
      pc_add_q   <= '0;
      pc_end_q   <= '0;
      pc_beats_q <= '0;
      pc_room_q  <= '0;
    end else begin
      if (pc_load) begin
        half_q     <= straddle && !half_q;
        last_v_q   <= 1'b1;
        last_q_q   <= a_q_q;
        pc_valid_q <= 1'b1;
        pc_done_q  <= n_done;
        pc_cont_q  <= n_cont;
        pc_q_q     <= a_q_q;
        pc_addr_q  <= n_addr;
        pc_words_q <= n_words;
        pc_add_q   <= n_add;
        pc_end_q   <= a_end_q;
        pc_beats_q <= n_beats;
        pc_room_q  <= 9'(MAX_BEATS) - n_beats;
      end else if (p_ready_i) begin
        pc_valid_q <= 1'b0;
      end
    end
  end

  assign p_valid_o = pc_valid_q;
  assign p_q_o     = pc_q_q;
  assign p_addr_o  = pc_addr_q;
  assign p_words_o = pc_words_q;
  assign p_done_o  = pc_done_q;
  assign p_end_o   = pc_end_q;
  assign p_cont_o  = pc_cont_q;
  assign p_add_o   = pc_add_q;
  assign p_beats_o = pc_beats_q;
  assign p_room_o  = pc_room_q;

  always_comb begin
    for (int unsigned k = 0; k < 3; k++) e_room_o[k] = (32'(ef_count) + k + 1 <= FIFO_DEPTH);
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSERT(a_stage_align, (l_valid_q -> l_used_q[1:0] == 2'd0) && (a_valid_q -> a_addr_q[1:0] == 2'd0)
                              && (pc_valid_q -> pc_addr_q[1:0] == 2'd0),
    ("vmsg_eng_piece: an element address not 4-byte aligned"))
  `VMSG_ASSERT(a_half, half_q -> a_valid_q && straddle,
    ("vmsg_eng_piece: second half of an element that does not straddle a page"))
  `VMSG_ASSUME(a_push_room, e_push_i -> !ef_full,
    ("vmsg_eng_piece: element pushed into a full FIFO"))
  `VMSG_ASSERT(a_piece_page, p_valid_o -> (32'(p_addr_o[11:0]) + 32'(p_words_o) * 4) <= 32'd4096,
    ("vmsg_eng_piece: piece crosses a 4 KiB boundary"))
  `VMSG_ASSERT(a_piece_beats,
      p_valid_o -> p_beats_o >= 9'd1 && p_beats_o <= 9'd2 && p_add_o <= 2'(p_beats_o),
    ("vmsg_eng_piece: piece beat counts out of range"))
`endif

endmodule

`default_nettype wire
