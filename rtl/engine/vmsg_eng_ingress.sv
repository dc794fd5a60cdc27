// Completion ingress: the stream port (through a 2-entry input buffer, so that s_cpl_ready_o
// comes from a register), the firmware completion FIFO (filled by CPL_PUSH), round-robin choice
// between the two, the queue checks, ring index assignment and the element FIFO push.
//
// A completion for a queue that is disabled, in error or being reset, or (stream only) whose
// queue number is >= NUM_Q, is dropped and counted. A completion for an enabled queue that
// already has ring-size completions accepted and not yet published waits (the device cannot have
// more buffers outstanding than the ring holds); the other source may pass it meanwhile.

`default_nettype none

module vmsg_eng_ingress #(
  parameter int unsigned NUM_Q          = 4,   // queues, 1..64
  parameter int unsigned AW             = 32,  // AXI address width
  parameter int unsigned CPL_FIFO_DEPTH = 8,   // firmware completion FIFO entries, power of two
  localparam int unsigned QW  = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,  // queue number width
  localparam int unsigned FCW = $clog2(CPL_FIFO_DEPTH + 1)
) (
  input  wire                        clk_i,
  input  wire                        rst_ni,
  // stream port
  input  wire                        s_cpl_valid_i,
  output logic                       s_cpl_ready_o,
  input  wire  [QW-1:0]              s_cpl_queue_i,
  input  wire  [31:0]                s_cpl_id_i,
  input  wire  [31:0]                s_cpl_len_i,
  // firmware path (CPL_PUSH), queue already checked by the register block
  input  wire                        fw_push_i,
  input  wire  [5:0]                 fw_queue_i,
  input  wire  [31:0]                fw_id_i,
  input  wire  [31:0]                fw_len_i,
  output logic                       fw_full_o,
  output logic [FCW-1:0]             fw_count_o,
  // queue state
  input  wire  [NUM_Q-1:0]           q_en_i,
  input  wire  [NUM_Q-1:0]           q_flush_i,
  input  wire  [NUM_Q-1:0][AW-1:0]   q_used_i,
  input  wire  [NUM_Q-1:0][4:0]      q_size_log2_i,
  input  wire  [NUM_Q-1:0][15:0]     q_acc_i,
  input  wire  [NUM_Q-1:0][15:0]     q_vis_i,
  // per-queue strobes
  output logic [NUM_Q-1:0]           acc_o,      // completion accepted
  output logic [NUM_Q-1:0]           drop_o,     // completion dropped (queue not accepting)
  output logic                       bad_q_o,    // stream completion with queue >= NUM_Q dropped
  // element data (id, len) into the element FIFO
  output logic                       elem_push_o,
  output logic [63:0]                elem_data_o,
  input  wire                        elem_full_i,
  // accepted element (metadata) to the burst builder
  output logic                       e_valid_o,
  output logic [QW-1:0]              e_q_o,
  output logic [15:0]                e_idx_o,    // ring index (u16) of the element
  output logic [AW-1:0]              e_addr_o,   // byte address of the element
  input  wire                        e_ready_i
);

  // elaboration-time parameter checks
  if (NUM_Q < 1 || NUM_Q > 64) begin : g_param_err0
    $fatal(1, "vmsg_eng_ingress: NUM_Q must be 1..64");
  end

  localparam int unsigned CW = 6 + 64;  // queue (6 bits), len, id

  // stream input buffer
  logic [0:0][CW-1:0] sb_data;
  logic [1:0]         sb_count;
  logic               sb_full, sb_empty, s_pop;
  vmsg_eng_fifo #(.WIDTH(CW), .DEPTH(2), .NRD(1)) u_sbuf (
    .clk_i, .rst_ni,
    .push_i  (s_cpl_valid_i && !sb_full),
    .wdata_i ({6'(s_cpl_queue_i), s_cpl_len_i, s_cpl_id_i}),
    .pop_i   (s_pop),
    .rdata_o (sb_data),
    .count_o (sb_count),
    .full_o  (sb_full),
    .empty_o (sb_empty)
  );
  assign s_cpl_ready_o = !sb_full;

  // firmware FIFO
  logic [0:0][CW-1:0] fb_data;
  logic               fb_empty, f_pop;
  vmsg_eng_fifo #(.WIDTH(CW), .DEPTH(CPL_FIFO_DEPTH), .NRD(1)) u_fbuf (
    .clk_i, .rst_ni,
    .push_i  (fw_push_i),
    .wdata_i ({fw_queue_i, fw_len_i, fw_id_i}),
    .pop_i   (f_pop),
    .rdata_o (fb_data),
    .count_o (fw_count_o),
    .full_o  (fw_full_o),
    .empty_o (fb_empty)
  );

  // what each head would do this cycle
  logic e_free;
  assign e_free = !e_valid_o || e_ready_i;

  typedef enum logic [1:0] {ACT_WAIT, ACT_DROP, ACT_BAD, ACT_ACCEPT} act_e;

  function automatic act_e head_action(logic valid, logic [5:0] q, logic free,
                                       logic [NUM_Q-1:0] en, logic [NUM_Q-1:0] flush,
                                       logic [NUM_Q-1:0][4:0] size_log2,
                                       logic [NUM_Q-1:0][15:0] acc,
                                       logic [NUM_Q-1:0][15:0] vis, logic elem_full);
    act_e a;
    logic [15:0] inflight;  // completions accepted and not yet visible (u16 difference)
    a = ACT_WAIT;
    if (valid) begin
      if (32'(q) >= NUM_Q) begin
        a = ACT_BAD;
      end else if (!en[QW'(q)] || flush[QW'(q)]) begin
        a = ACT_DROP;
      end else begin
        inflight = acc[QW'(q)] - vis[QW'(q)];
        if (free && !elem_full && 17'(inflight) < (17'd1 << size_log2[QW'(q)])) a = ACT_ACCEPT;
      end
    end
    return a;
  endfunction

  act_e s_act, f_act;
  assign s_act = head_action(!sb_empty, sb_data[0][CW-1 -: 6], e_free, q_en_i, q_flush_i,
                             q_size_log2_i, q_acc_i, q_vis_i, elem_full_i);
  assign f_act = head_action(!fb_empty, fb_data[0][CW-1 -: 6], e_free, q_en_i, q_flush_i,
                             q_size_log2_i, q_acc_i, q_vis_i, elem_full_i);

  // round robin between the two heads among those that can move
  logic last_fw_q;  // the firmware head moved last
  logic pick_fw, go;
  always_comb begin
    if (s_act != ACT_WAIT && f_act != ACT_WAIT) pick_fw = !last_fw_q;
    else pick_fw = (f_act != ACT_WAIT);
  end
  act_e act;
  logic [CW-1:0] head;
  assign act  = pick_fw ? f_act : s_act;
  assign head = pick_fw ? fb_data[0] : sb_data[0];
  assign go   = (act != ACT_WAIT);
  assign s_pop = go && !pick_fw;
  assign f_pop = go && pick_fw;

  logic [5:0]  h_q;
  logic [QW-1:0] h_qi;
  assign h_q  = head[CW-1 -: 6];
  assign h_qi = QW'(h_q);

  // element address: used + 4 + 8 * (acc % size)
  logic [15:0] slot;
  logic [AW-1:0] addr;
  always_comb begin
    logic [15:0] mask;
    mask = 16'((17'd1 << q_size_log2_i[h_qi]) - 17'd1);
    slot = q_acc_i[h_qi] & mask;
    addr = q_used_i[h_qi] + AW'(4) + AW'({slot, 3'b000});
  end

  always_comb begin
    acc_o  = '0;
    drop_o = '0;
    if (act == ACT_ACCEPT) acc_o[h_qi] = 1'b1;
    if (act == ACT_DROP) drop_o[h_qi] = 1'b1;
  end
  assign bad_q_o     = (act == ACT_BAD);
  assign elem_push_o = (act == ACT_ACCEPT);
  assign elem_data_o = head[63:0];

  logic          e_valid_q;
  logic [QW-1:0] e_q_q;
  logic [15:0]   e_idx_q;
  logic [AW-1:0] e_addr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      e_valid_q <= 1'b0;
      e_q_q     <= '0;
      e_idx_q   <= '0;
      e_addr_q  <= '0;
      last_fw_q <= 1'b0;
    end else begin
      if (go) last_fw_q <= pick_fw;
      if (act == ACT_ACCEPT) begin
        e_valid_q <= 1'b1;
        e_q_q     <= h_qi;
        e_idx_q   <= q_acc_i[h_qi];
        e_addr_q  <= addr;
      end else if (e_ready_i) begin
        e_valid_q <= 1'b0;
      end
    end
  end
  assign e_valid_o = e_valid_q;
  assign e_q_o     = e_q_q;
  assign e_idx_o   = e_idx_q;
  assign e_addr_o  = e_addr_q;

  logic unused_ingress;
  assign unused_ingress = ^{sb_count, h_q};

endmodule

`default_nettype wire
