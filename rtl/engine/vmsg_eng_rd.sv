// Read path and notification decision. After a used->idx write got OKAY, its queue asks for a
// decision read: avail->flags (u16 at avail) without EVENT_IDX, used_event (u16 at
// avail + 4 + 2 * size) with EVENT_IDX. Reads use one AXI ID, so R data returns in issue order
// and one FIFO tracks them; a queue's decisions are therefore made in the order of its used->idx
// writes. Decision (virtio 1.x, split ring):
//   without EVENT_IDX: notify unless flags & VRING_AVAIL_F_NO_INTERRUPT;
//   with EVENT_IDX:    notify when (u16)(new - used_event - 1) < (u16)(new - old),
// where new is the published idx and old the idx of the queue's previous decision.
//
// Pipeline: a round-robin choice among the queues that want a read is latched in a one-entry
// slot (the queue number), then the queue's data in a second register, where the read address
// is computed into a register in the cycle after, before AR and the tracker are loaded; R is
// registered with its tracker entry (stage A); then the two differences are computed and
// registered (stage B); the decision is made there and registered (stage C), from where it goes
// to the queue. The old of a decision comes from the queue, or from a decision of the same queue
// still in stage B or C (a queue's old is updated at the end of the cycle its decision is in C).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_rd #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned AW             = 32,  // AXI address width
  parameter int unsigned DW             = 64,  // AXI data width
  parameter int unsigned IDW            = 4,   // AXI ID width
  parameter int unsigned RD_OUTSTANDING = 8,   // read transactions in flight, power of two
  parameter logic [31:0] AXI_ID      = '0,      // AxID of every transaction (< 2^IDW)
  parameter logic [3:0]  AXI_CACHE   = 4'b0010, // AxCACHE
  parameter logic [2:0]  AXI_PROT    = 3'b000,  // AxPROT
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // memory timeout (see vmsg_eng_tmo)
  input  wire  [23:0]              tmo_limit_i,
  output logic                     tmo_o,
  output logic [AW-1:0]            tmo_addr_o,
  // queue state
  input  wire  [NUM_Q-1:0]         q_rd_req_i,     // decision read wanted
  input  wire  [NUM_Q-1:0]         q_evidx_i,
  input  wire  [NUM_Q-1:0]         q_flush_i,
  input  wire  [NUM_Q-1:0]         q_resetting_i,
  input  wire  [NUM_Q-1:0][AW-1:0] q_avail_i,
  input  wire  [NUM_Q-1:0][4:0]    q_size_log2_i,
  input  wire  [NUM_Q-1:0][15:0]   q_vis_i,        // published idx (the decision's new)
  input  wire  [NUM_Q-1:0][15:0]   q_old_i,
  // events to the queues
  output logic                     ar_take_o,      // decision read issued
  output logic [QW-1:0]            ar_q_o,
  output logic [NUM_Q-1:0]         r_o,            // read response done with (one-hot by queue)
  output logic [QW-1:0]            r_q_o,
  output logic                     dec_o,          // decision made
  output logic [15:0]              dec_new_o,
  output logic                     dec_notify_o,
  output logic                     rerr_o,         // read failed
  output logic [AW-1:0]            rerr_addr_o,
  // AXI4 read channels
  output logic [IDW-1:0]           m_axi_arid,
  output logic [AW-1:0]            m_axi_araddr,
  output logic [7:0]               m_axi_arlen,
  output logic [2:0]               m_axi_arsize,
  output logic [1:0]               m_axi_arburst,
  output logic                     m_axi_arlock,
  output logic [3:0]               m_axi_arcache,
  output logic [2:0]               m_axi_arprot,
  output logic                     m_axi_arvalid,
  input  wire                      m_axi_arready,
  input  wire  [IDW-1:0]           m_axi_rid,
  input  wire  [DW-1:0]            m_axi_rdata,
  input  wire  [1:0]               m_axi_rresp,
  input  wire                      m_axi_rlast,
  input  wire                      m_axi_rvalid,
  output logic                     m_axi_rready
);

  localparam int unsigned S  = $clog2(DW / 8);
  // tracker entry: one outstanding decision read
  typedef struct packed {
    logic [QW-1:0] q;        // its queue
    logic [15:0]   new_idx;  // the published idx the decision is for
    logic          evidx;    // EVENT_IDX: the read is of used_event (else avail->flags)
    logic [AW-1:0] addr;     // address read
  } trk_t;
  localparam int unsigned TW = $bits(trk_t);

  // ---------------------------------------------------------------------------------------
  // slot: the next read (loaded only when both stages are empty; reads are rare). A queue keeps
  // asking until its read is issued, and is not chosen again meanwhile because the slot is full.
  logic          arb_valid, slot_load;
  logic [QW-1:0] arb_q;
  logic          g_valid_q;           // stage 1: the chosen queue
  logic [QW-1:0] g_q_q;
  logic          s_valid_q, s_evidx_q; // stage 2: its data
  logic [QW-1:0] s_q_q;
  logic [AW-1:0] s_avail_q;
  logic [4:0]    s_size_log2_q;
  logic [15:0]   s_new_q;
  logic          g_drop, s_drop, s_load, trk_full, trk_empty, load;
  logic          s_addr_ok_q;          // s_addr_q holds the address of the read in stage 2
  logic [AW-1:0] s_addr_q;

  vmsg_eng_rr_arb #(.N(NUM_Q)) u_arb (
    .clk_i, .rst_ni,
    .req_i       (q_rd_req_i),
    .take_i      (slot_load),
    .gnt_valid_o (arb_valid),
    .gnt_idx_o   (arb_q)
  );
  assign slot_load = arb_valid && !g_valid_q && !s_valid_q;
  assign s_load    = g_valid_q && !s_valid_q;
  // a queue that entered the error state or a reset meanwhile issues no read (the entry is
  // dropped from the cycle after the flush; the queue's reset waits for that)
  assign g_drop    = q_flush_i[g_q_q];
  assign s_drop    = q_flush_i[s_q_q];
  assign load      = s_valid_q && s_addr_ok_q && (!m_axi_arvalid || m_axi_arready) && !trk_full;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      g_valid_q     <= 1'b0;
      g_q_q         <= '0;
      s_valid_q     <= 1'b0;
      s_evidx_q     <= 1'b0;
      s_q_q         <= '0;
      s_avail_q     <= '0;
      s_size_log2_q <= '0;
      s_new_q       <= '0;
    end else begin
      if (slot_load) begin
        g_valid_q <= 1'b1;
        g_q_q     <= arb_q;
      end else if (s_load || g_drop) begin
        g_valid_q <= 1'b0;
      end
      if (s_load) begin
        s_valid_q     <= !g_drop;
        s_evidx_q     <= q_evidx_i[g_q_q];
        s_q_q         <= g_q_q;
        s_avail_q     <= q_avail_i[g_q_q];
        s_size_log2_q <= q_size_log2_i[g_q_q];
        s_new_q       <= q_vis_i[g_q_q];
      end else if (load || s_drop) begin
        s_valid_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s_addr_ok_q <= 1'b0;
      s_addr_q    <= '0;
    end else begin
      s_addr_ok_q <= s_valid_q && !s_load;
      s_addr_q    <= s_evidx_q ? s_avail_q + AW'(4) + AW'(17'd2 << s_size_log2_q) : s_avail_q;
    end
  end

  logic [0:0][TW-1:0] trk_head;
  logic [$clog2(RD_OUTSTANDING + 1)-1:0] trk_count;
  logic r_hs;
  trk_t trk_in, trk_hd;
  assign trk_in = '{q: s_q_q, new_idx: s_new_q, evidx: s_evidx_q, addr: s_addr_q};
  vmsg_eng_fifo #(.WIDTH(TW), .DEPTH(RD_OUTSTANDING), .NRD(1)) u_trk (
    .clk_i, .rst_ni,
    .push_i  (load),
    .wdata_i (trk_in),
    .pop_i   (r_hs),
    .rdata_o (trk_head),
    .count_o (trk_count),
    .full_o  (trk_full),
    .empty_o (trk_empty)
  );

  assign ar_take_o = load;
  assign ar_q_o    = s_q_q;

  logic          arvalid_q;
  logic [AW-1:0] araddr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      arvalid_q <= 1'b0;
      araddr_q  <= '0;
    end else if (load) begin
      arvalid_q <= 1'b1;
      araddr_q  <= s_addr_q;
    end else if (m_axi_arready) begin
      arvalid_q <= 1'b0;
    end
  end

  assign m_axi_arid    = IDW'(AXI_ID);
  assign m_axi_araddr  = araddr_q;
  assign m_axi_arlen   = 8'd0;
  assign m_axi_arsize  = 3'd1;       // 2 bytes
  assign m_axi_arburst = 2'b01;
  assign m_axi_arlock  = 1'b0;
  assign m_axi_arcache = AXI_CACHE;
  assign m_axi_arprot  = AXI_PROT;
  assign m_axi_arvalid = arvalid_q;

  // ---------------------------------------------------------------------------------------
  // responses: stage A holds the response with its tracker entry
  assign trk_hd = trk_head[0];
  assign m_axi_rready = 1'b1;
  assign r_hs         = m_axi_rvalid && !trk_empty;

  // memory timeout: no response for tmo_limit_i cycles while transactions are outstanding
  vmsg_eng_tmo #(.AW(AW)) u_tmo (
    .clk_i, .rst_ni,
    .limit_i     (tmo_limit_i),
    .busy_i      (!trk_empty),
    .resp_i      (r_hs),
    .head_addr_i (trk_hd.addr),
    .tmo_o       (tmo_o),
    .tmo_addr_o  (tmo_addr_o)
  );

  logic          a_v_q, a_ok_q, a_evidx_q;
  logic [QW-1:0] a_q_q;
  logic [15:0]   a_new_q, a_val_q;
  logic [AW-1:0] a_addr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_v_q     <= 1'b0;
      a_ok_q    <= 1'b0;
      a_evidx_q <= 1'b0;
      a_q_q     <= '0;
      a_new_q   <= '0;
      a_val_q   <= '0;
      a_addr_q  <= '0;
    end else begin
      a_v_q <= r_hs;
      if (r_hs) begin
        a_ok_q    <= !m_axi_rresp[1];
        a_evidx_q <= trk_hd.evidx;
        a_q_q     <= trk_hd.q;
        a_new_q   <= trk_hd.new_idx;
        a_val_q   <= 16'(m_axi_rdata >> {trk_hd.addr[S-1:0], 3'b000});
        a_addr_q  <= trk_hd.addr;
      end
    end
  end

  // stage B: the two differences of the EVENT_IDX rule, (u16)(new - used_event - 1) and
  // (u16)(new - old)
  logic          b_v_q, b_ok_q, b_evidx_q, b_flag_q;
  logic [QW-1:0] b_q_q;
  logic [15:0]   b_new_q, b_d1_q, b_d2_q;
  logic [AW-1:0] b_addr_q;
  logic          b_dec;
  logic          c_dec_q, c_notify_q, c_rerr_q;
  logic [NUM_Q-1:0] c_v_q;
  logic [QW-1:0] c_q_q;
  logic [15:0]   c_new_q;
  logic [AW-1:0] c_addr_q;
  // new - old for the three possible olds, chosen after the subtraction
  logic [15:0]   d2_b, d2_c, d2_q;
  logic          fwd_b, fwd_c;
  assign d2_b  = a_new_q - b_new_q;
  assign d2_c  = a_new_q - c_new_q;
  assign d2_q  = a_new_q - q_old_i[a_q_q];
  assign fwd_b = b_dec && (b_q_q == a_q_q);
  assign fwd_c = c_dec_q && (c_q_q == a_q_q);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      b_v_q     <= 1'b0;
      b_ok_q    <= 1'b0;
      b_evidx_q <= 1'b0;
      b_flag_q  <= 1'b0;
      b_q_q     <= '0;
      b_new_q   <= '0;
      b_d1_q    <= '0;
      b_d2_q    <= '0;
      b_addr_q  <= '0;
    end else begin
      b_v_q <= a_v_q;
      if (a_v_q) begin
        b_ok_q    <= a_ok_q;
        b_evidx_q <= a_evidx_q;
        b_flag_q  <= a_val_q[0];   // VRING_AVAIL_F_NO_INTERRUPT
        b_q_q     <= a_q_q;
        b_new_q   <= a_new_q;
        b_d1_q    <= a_new_q - a_val_q - 16'd1;
        b_d2_q    <= fwd_b ? d2_b : fwd_c ? d2_c : d2_q;
        b_addr_q  <= a_addr_q;
      end
    end
  end

  // decision (stage B, registered into C); the responses of a queue being reset decide
  // nothing; a failed one still goes to the queue, which counts it (ERR_CNT) and, while
  // resetting, does not report it
  assign b_dec = b_v_q && b_ok_q && !q_resetting_i[b_q_q];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      c_v_q      <= '0;
      c_dec_q    <= 1'b0;
      c_notify_q <= 1'b0;
      c_rerr_q   <= 1'b0;
      c_q_q      <= '0;
      c_new_q    <= '0;
      c_addr_q   <= '0;
    end else begin
      c_v_q      <= b_v_q ? NUM_Q'(1) << b_q_q : '0;
      c_dec_q    <= b_dec;
      c_notify_q <= b_evidx_q ? (b_d1_q < b_d2_q) : !b_flag_q;
      c_rerr_q   <= b_v_q && !b_ok_q;
      c_q_q      <= b_q_q;
      c_new_q    <= b_new_q;
      c_addr_q   <= b_addr_q;
    end
  end
  assign r_o          = c_v_q;
  assign r_q_o        = c_q_q;
  assign dec_o        = c_dec_q;
  assign dec_new_o    = c_new_q;
  assign dec_notify_o = c_notify_q;
  assign rerr_o       = c_rerr_q;
  assign rerr_addr_o  = c_addr_q;

  logic unused_rd;
  assign unused_rd = ^{m_axi_rid, m_axi_rlast, m_axi_rresp[0], trk_count};

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  `VMSG_ASSERT(a_ar_stable,
      $past(m_axi_arvalid && !m_axi_arready) -> m_axi_arvalid && $stable(m_axi_araddr),
    ("vmsg_eng_rd: AR changed while waiting"))
  `VMSG_ASSUME(a_r_expected, m_axi_rvalid -> !trk_empty,
    ("vmsg_eng_rd: R data without an outstanding read"))
  // a queue keeps asking for its read until the read is issued or the queue is flushed
  `VMSG_ASSUME(a_slot_wanted,
      (!(s_valid_q && !s_drop) || q_rd_req_i[s_q_q]) && (!(g_valid_q && !g_drop) || q_rd_req_i[g_q_q]),
    ("vmsg_eng_rd: slot holds a read its queue no longer wants"))
`endif

endmodule

`default_nettype wire
